"""ONNX Runtime (standard-op and custom-op graphs) and PyTorch give the same pictures from the same weights."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint.runtime.backends import load_runner
from inpaint.runtime.processing import crop, masks_to_nchw, pad_to_multiple, to_nchw

#: float32 outputs of two runtimes of one network (issue 3's tolerance)
TOLERANCE = 1e-4


def _inputs(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(h * w)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    rgb = np.stack([xx, yy, (xx + yy) / 2], -1) * 200 + rng.integers(0, 40, (h, w, 3))
    hole = np.zeros((h, w), bool)
    hole[h // 5 : h // 2, w // 4 : 2 * w // 3] = True
    hole[-20:, -30:] = True  # touching the padded border
    return rgb.astype(np.uint8), hole


@pytest.mark.parametrize("size", [(256, 384), (333, 517)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_onnx_and_torch_agree(model_files, plugin_onnx, size):
    rgb, hole = _inputs(*size)
    outs = {}
    for name, path, engine in [("torch", model_files["checkpoint"], "torch"), ("onnx", model_files["onnx"], "onnx"),
                               ("onnx-plugin", plugin_onnx, "onnx")]:
        with load_runner(path, engine, "cpu") as runner:
            image, hw = pad_to_multiple(to_nchw([rgb]), runner.stride)
            mask, _ = pad_to_multiple(masks_to_nchw([hole]), runner.stride)
            assert image.shape[2] % 16 == 0 and image.shape[3] % 16 == 0
            outs[name] = crop(runner.infer(image, mask), hw)
    ref = outs.pop("torch")
    assert ref.shape == (1, 3, *size)
    known = np.broadcast_to(~hole, ref.shape)
    assert np.array_equal(ref[known], to_nchw([rgb])[known])  # known pixels unchanged
    assert np.abs(ref[~known] - to_nchw([rgb])[~known]).max() > 0.05  # the network did fill the hole
    for name, out in outs.items():
        assert np.abs(out - ref).max() < TOLERANCE, name
        assert np.array_equal(out[known], ref[known]), name
