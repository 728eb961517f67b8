"""The NumPy kernel and the ONNX Runtime custom op of MaskAwareDynamicConv against the torch per-window reference."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from inpaint.errors import UserError
from inpaint.ops.dynamic_conv import DynamicConvSpec, dynamic_conv_windows
from inpaint.ops.dynamic_conv.numpy_impl import dynamic_conv_numpy

ROOT = Path(__file__).resolve().parents[2]

# (C_in, C_out, k) of MADF's encoder levels (DESIGN.md table); stride 2, pad k // 2, 16 mask channels
MADF_LEVELS = [(6, 16, 7), (16, 32, 5), (32, 64, 3), (64, 128, 3), (128, 128, 3)]


def _case(c_in, c_out, k, stride, pad, h, w, c_m=16, n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    spec = DynamicConvSpec(c_in, c_out, c_m, k, stride, pad)
    ho, wo = spec.out_size(h, w)
    e = torch.randn(n, c_in, h, w, generator=g)
    m = torch.rand(n, c_m, ho, wo, generator=g)
    # scaled so that outputs have a standard deviation near 1 (as in test_dynamic_conv.py)
    weight = torch.randn(spec.generator_channels, c_m, 1, 1, generator=g) / (3 * (c_in * k * k * c_m) ** 0.5)
    bias = torch.randn(spec.generator_channels, generator=g) / (c_in * k * k) ** 0.5
    return e, m, weight, bias


def _max_err(out: np.ndarray, ref: torch.Tensor) -> float:
    assert out.shape == tuple(ref.shape) and out.dtype == np.float32
    return float(np.abs(out - ref.numpy()).max())


@pytest.mark.parametrize("c_in,c_out,k", MADF_LEVELS)
@pytest.mark.parametrize("hw", [(16, 16), (13, 21)])
def test_numpy_matches_reference_at_madf_levels(c_in, c_out, k, hw):
    e, m, weight, bias = _case(c_in, c_out, k, 2, k // 2, *hw)
    ref = dynamic_conv_windows(e, m, weight, bias, k, 2, k // 2)
    assert ref.std() > 0.3  # outputs are not trivially small, so 1e-5 is a real bound
    out = dynamic_conv_numpy(e.numpy(), m.numpy(), weight.numpy(), bias.numpy(), k, 2, k // 2)
    assert _max_err(out, ref) < 1e-5


@pytest.mark.parametrize("k,stride,pad,h,w", [(3, 1, 1, 11, 9), (5, 1, 0, 9, 12), (4, 3, 1, 11, 10), (1, 1, 0, 5, 7), (3, 2, 0, 8, 7)])
def test_numpy_matches_reference_other_geometries(k, stride, pad, h, w):
    e, m, weight, bias = _case(5, 7, k, stride, pad, h, w, c_m=3, n=1)
    ref = dynamic_conv_windows(e, m, weight, bias, k, stride, pad)
    assert _max_err(dynamic_conv_numpy(e.numpy(), m.numpy(), weight.numpy(), bias.numpy(), k, stride, pad), ref) < 1e-5
    ref0 = dynamic_conv_windows(e, m, weight, None, k, stride, pad)
    assert _max_err(dynamic_conv_numpy(e.numpy(), m.numpy(), weight.numpy(), None, k, stride, pad), ref0) < 1e-5


def test_numpy_rejects_mask_of_wrong_size():
    e, m, weight, bias = _case(2, 3, 3, 2, 1, 8, 8, c_m=2)
    with pytest.raises(ValueError, match="mask features"):
        dynamic_conv_numpy(e.numpy(), m.numpy()[..., :3, :], weight.numpy(), bias.numpy(), 3, 2, 1)


# --- ONNX Runtime ----------------------------------------------------------------------------------------


def _one_node_model(path: Path, c_in: int, c_m: int, k: int, stride: int, pad: int, weight: np.ndarray, bias: np.ndarray) -> Path:
    """A model with ONE inpaint::MaskAwareDynamicConv node; weight and bias are initializers, e and m inputs."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    node = helper.make_node(
        "MaskAwareDynamicConv", ["e", "m", "weight", "bias"], ["y"], domain="inpaint", kernel_size=k, stride=stride, pad=pad
    )
    graph = helper.make_graph(
        [node],
        "one_dynamic_conv",
        [
            helper.make_tensor_value_info("e", TensorProto.FLOAT, ["N", c_in, "H", "W"]),
            helper.make_tensor_value_info("m", TensorProto.FLOAT, ["N", c_m, "Ho", "Wo"]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(weight, "weight"), numpy_helper.from_array(bias, "bias")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("inpaint", 1)])
    model.ir_version = 10  # ONNX Runtime 1.31 reads IR <= 13; opset 18 needs IR >= 8
    onnx.save(model, path)
    return path


@pytest.fixture
def ort_modules():
    pytest.importorskip("onnxruntime_extensions")
    return pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("c_in,c_out,k,hw", [(6, 16, 7, (16, 16)), (16, 32, 5, (13, 21)), (64, 128, 3, (8, 8))])
def test_onnxruntime_node_matches_reference(tmp_path, ort_modules, c_in, c_out, k, hw):
    from inpaint.ops.ort_custom_ops import custom_op_session_options, graph_custom_ops

    e, m, weight, bias = _case(c_in, c_out, k, 2, k // 2, *hw)
    path = _one_node_model(tmp_path / "dc.onnx", c_in, 16, k, 2, k // 2, weight.numpy(), bias.numpy())
    ops = graph_custom_ops(path)
    assert ops == {"MaskAwareDynamicConv"}
    sess = ort_modules.InferenceSession(str(path), custom_op_session_options(ops), providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {"e": e.numpy(), "m": m.numpy()})
    assert _max_err(y, dynamic_conv_windows(e, m, weight, bias, k, 2, k // 2)) < 1e-5


def test_registering_twice_keeps_sessions_working(tmp_path, ort_modules):
    """A second definition of the same Python op would make every later session fail; register() must not."""
    from inpaint.ops.dynamic_conv import ort as dc_ort
    from inpaint.ops.ort_custom_ops import custom_op_session_options

    dc_ort.register()
    dc_ort.register()
    assert dc_ort.is_registered()
    e, m, weight, bias = _case(3, 4, 3, 1, 1, 6, 5, c_m=2, n=1)
    path = _one_node_model(tmp_path / "dc.onnx", 3, 2, 3, 1, 1, weight.numpy(), bias.numpy())
    for _ in range(2):
        sess = ort_modules.InferenceSession(str(path), custom_op_session_options(), providers=["CPUExecutionProvider"])
        (y,) = sess.run(None, {"e": e.numpy(), "m": m.numpy()})
        assert _max_err(y, dynamic_conv_windows(e, m, weight, bias, 3, 1, 1)) < 1e-5


def test_graph_custom_ops_reads_subgraphs_and_standard_graphs(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from inpaint.ops.ort_custom_ops import graph_custom_ops

    def info(name):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1])

    then = helper.make_graph([helper.make_node("MaskedAttentionAggregate", ["x"], ["t"], domain="inpaint", rate=2)], "then", [], [info("t")])
    other = helper.make_graph([helper.make_node("Identity", ["x"], ["o"])], "else", [], [info("o")])
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other),
        helper.make_node("Foo", ["x"], ["z"], domain="ai.onnx.contrib"),
    ]
    graph = helper.make_graph(nodes, "g", [info("x"), helper.make_tensor_value_info("c", TensorProto.BOOL, [])], [info("y")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("inpaint", 1)])
    onnx.save(model, tmp_path / "sub.onnx")
    assert graph_custom_ops(tmp_path / "sub.onnx") == {"MaskedAttentionAggregate"}

    plain = helper.make_model(helper.make_graph(nodes[:1], "g", [info("x")], [info("r")]))
    onnx.save(plain, tmp_path / "plain.onnx")
    assert graph_custom_ops(tmp_path / "plain.onnx") == set()


def test_graph_custom_ops_user_errors(tmp_path):
    from inpaint.ops.ort_custom_ops import graph_custom_ops

    with pytest.raises(UserError, match="missing.onnx"):
        graph_custom_ops(tmp_path / "missing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"\xff" * 64)
    with pytest.raises(UserError, match="not an ONNX model"):
        graph_custom_ops(tmp_path / "junk.onnx")


def test_unknown_inpaint_op_is_a_user_error():
    pytest.importorskip("onnxruntime")
    from inpaint.ops.ort_custom_ops import custom_op_session_options

    with pytest.raises(UserError, match="inpaint::NoSuchOp"):
        custom_op_session_options({"NoSuchOp"})


def test_modules_import_and_run_without_torch(tmp_path):
    """The runtime path (graph scan, session options, NumPy kernel) works with torch made unimportable."""
    pytest.importorskip("onnxruntime_extensions")
    e, m, weight, bias = _case(6, 16, 7, 2, 3, 12, 10, n=1)
    path = _one_node_model(tmp_path / "dc.onnx", 6, 16, 7, 2, 3, weight.numpy(), bias.numpy())
    np.savez(tmp_path / "io.npz", e=e.numpy(), m=m.numpy(), ref=dynamic_conv_windows(e, m, weight, bias, 7, 2, 3).numpy())
    script = f"""
import sys
sys.modules['torch'] = None
import numpy as np, onnxruntime
import inpaint.ops.ort_custom_ops as oco
from inpaint.ops.dynamic_conv.numpy_impl import dynamic_conv_numpy
ops = oco.graph_custom_ops({str(path)!r})
assert ops == {{'MaskAwareDynamicConv'}}, ops
d = np.load({str(tmp_path / 'io.npz')!r})
sess = onnxruntime.InferenceSession({str(path)!r}, oco.custom_op_session_options(ops), providers=['CPUExecutionProvider'])
err = float(np.abs(sess.run(None, {{'e': d['e'], 'm': d['m']}})[0] - d['ref']).max())
assert err < 1e-5, err
assert 'torch' not in [n.split('.')[0] for n, mod in sys.modules.items() if mod is not None]
print('ok', err)
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok")
