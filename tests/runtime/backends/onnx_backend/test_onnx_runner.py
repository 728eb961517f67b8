"""ONNX Runtime backend: metadata, providers, custom-op graphs, contract checks."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint.errors import UserError
from inpaint.runtime.backends import load_runner
from inpaint.runtime.backends import onnx as onnx_backend


def test_metadata_from_the_graph(model_files, plugin_onnx):
    with load_runner(model_files["onnx"], "onnx", "cpu") as runner:
        info = runner.metadata
        assert (info.family, info.preset, info.stride, info.ops) == ("madf", "madf-t", 16, "standard")
        assert info.custom_ops == frozenset()
        assert runner.device == "CPUExecutionProvider"
    with load_runner(plugin_onnx, "onnx", "cpu") as runner:  # needs the onnxruntime-extensions kernels
        assert runner.metadata.custom_ops == {"MaskAwareDynamicConv"}
        out = runner.infer(np.full((1, 3, 32, 48), 0.5, np.float32), np.zeros((1, 1, 32, 48), np.float32))
        assert np.allclose(out, 0.5)  # nothing to fill: the input comes back


def test_providers(monkeypatch):
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert onnx_backend.providers_for("auto") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert onnx_backend.providers_for("cpu") == ["CPUExecutionProvider"]
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert onnx_backend.providers_for("auto") == ["CPUExecutionProvider"]
    with pytest.raises(UserError, match="onnxruntime-gpu"):
        onnx_backend.providers_for("cuda")


def test_a_broken_or_foreign_onnx_file_is_a_user_error(tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x00garbage")
    with pytest.raises(UserError, match="broken.onnx"):
        load_runner(broken).activate()
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    foreign = tmp_path / "foreign.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    onnx.save(model, foreign)
    with pytest.raises(UserError, match="graph contract"):
        load_runner(foreign).activate()


def test_outputs_own_their_memory_and_survive_the_next_batch(model_files):
    rng = np.random.default_rng(0)
    mask = np.zeros((1, 1, 32, 48), np.float32)
    mask[..., 8:24, 10:30] = 1
    with load_runner(model_files["onnx"], "onnx", "cpu") as runner:
        first = runner.infer(rng.random((1, 3, 32, 48), dtype=np.float32), mask)
        kept = first.copy()
        for _ in range(3):  # later batches must neither reuse nor pin the first output's buffer
            runner.infer(rng.random((1, 3, 32, 48), dtype=np.float32), mask)
        assert first.flags.owndata and np.array_equal(first, kept)
    view = np.arange(6.0)[1:]
    assert not view.flags.owndata and onnx_backend.owned(view).flags.owndata and np.array_equal(onnx_backend.owned(view), view)
