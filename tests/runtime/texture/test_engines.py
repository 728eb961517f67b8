"""The texture stage is the same on every engine: ONNX Runtime, PyTorch (madf and far), TensorRT (over the stand-in)."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint.runtime import Inpainter
from inpaint.runtime.processing import from_float, to_float
from inpaint.runtime.texture.stage import texture_fill


def _picture(h=96, w=128, seed=0):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(60, 200, (h, w, 3), dtype=np.uint8)
    hole = np.zeros((h, w), bool)
    hole[30:60, 40:90] = True
    return rgb, hole


def _check(painter: Inpainter) -> None:
    """full strategy (the picture is within 2x the working size): on = texture_fill(off's fill), to the last bit."""
    rgb, hole = _picture()
    off = painter.inpaint(rgb, hole, strategy="full", texture="off")
    on = painter.inpaint(rgb, hole, strategy="full")
    assert np.array_equal(on[~hole], rgb[~hole]) and np.array_equal(off[~hole], rgb[~hole])
    want, matches = texture_fill(to_float(rgb), hole, to_float(off))
    assert matches is not None
    diff = np.abs(on.astype(int) - from_float(want, np.uint8).astype(int))[hole]
    # off is the fill rounded to 8 bits, on used it unrounded: a near tie between two keys may flip a cell
    assert (diff <= 2).mean() > 0.9
    assert (on[hole] != off[hole]).mean() > 0.3  # texture went in


def test_onnx_runtime(model_files):
    with Inpainter.load(model_files["onnx"], engine="onnx") as painter:
        _check(painter)


def test_torch_madf(model_files):
    pytest.importorskip("torch")
    with Inpainter.load(model_files["checkpoint"], engine="torch", device="cpu") as painter:
        _check(painter)


def test_torch_far(tmp_path):
    torch = pytest.importorskip("torch")
    from inpaint.models import build_model
    from inpaint.models.checkpoint import save_model

    torch.manual_seed(0)
    path = tmp_path / "far-t.safetensors"
    save_model(build_model("far-t").eval(), path)
    with Inpainter.load(path, engine="torch", device="cpu") as painter:
        assert painter.info.family == "far"
        _check(painter)


def test_tensorrt_runner_over_the_stand_in(model_files, tmp_path):
    from inpaint.export.trt import build_engine, parse_shapes
    from inpaint.runtime.backends.trt import EngineFromFile, TrtRunner
    from tests.runtime.backends.trt_backend.fakes import GPU, FakeMemory, fake_tensorrt, stand_in_builder

    path = tmp_path / "madf-t.engine"
    build_engine(model_files["onnx"], path, shapes=parse_shapes("1x16x16,1x64x64,4x256x256", 16),
                 trt_version="10.13.0.35", compute_capability=GPU.compute_capability, plan_builder=stand_in_builder())
    memory = FakeMemory()
    runner = TrtRunner(EngineFromFile(path), memory=memory, trt_module=fake_tensorrt(memory), gpu=GPU)
    with Inpainter(runner) as painter:
        assert painter.engine == "trt"
        _check(painter)
