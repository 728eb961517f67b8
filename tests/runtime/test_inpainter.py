"""The Python API: ``Inpainter.load(path, engine).inpaint(rgb, mask)``."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import inpaint
from inpaint.errors import UserError


def _picture(h: int, w: int, dtype=np.uint8, seed: int = 0):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, np.iinfo(dtype).max + 1, (h, w, 3), dtype=np.int64).astype(dtype)
    mask = np.zeros((h, w), np.uint8)
    mask[h // 4 : h // 2, w // 4 : w // 2] = 255
    return rgb, mask


def test_inpaint_uint8_keeps_known_pixels(model_files):
    rgb, mask = _picture(70, 90)
    with inpaint.Inpainter.load(model_files["onnx"]) as painter:
        assert painter.engine == "onnx" and painter.info.stride == 16
        out = painter.inpaint(rgb, mask)
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    known = mask == 0
    assert np.array_equal(out[known], rgb[known])
    assert not np.array_equal(out[~known], rgb[~known])


def test_torch_and_onnx_give_the_same_uint8(model_files):
    rgb, mask = _picture(48, 64, seed=1)
    a = inpaint.Inpainter.load(model_files["onnx"], engine="onnx").inpaint(rgb, mask.astype(bool))
    b = inpaint.Inpainter.load(model_files["checkpoint"], engine="auto").inpaint(rgb, mask.astype(bool))
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # float outputs agree to 1e-4: at most one level


def test_batch_of_mixed_sizes_and_16_bit(model_files):
    painter = inpaint.Inpainter.load(model_files["onnx"])
    pictures = [_picture(40, 40, seed=2), _picture(30, 50, np.uint16, seed=3), _picture(40, 40, seed=4)]
    outs = painter.inpaint_batch([p[0] for p in pictures], [p[1] for p in pictures])
    for (rgb, mask), out in zip(pictures, outs):
        assert out.dtype == rgb.dtype and out.shape == rgb.shape
        assert np.array_equal(out[mask == 0], rgb[mask == 0])
    alone = painter.inpaint(*pictures[2])
    assert np.abs(alone.astype(int) - outs[2].astype(int)).max() <= 1  # batching changes nothing


def test_bad_arrays_are_user_errors(model_files):
    painter = inpaint.Inpainter.load(model_files["onnx"])
    rgb, mask = _picture(32, 32)
    with pytest.raises(UserError, match="mask"):
        painter.inpaint(rgb, mask[:16])
    with pytest.raises(UserError, match="uint8 or uint16"):
        painter.inpaint(rgb.astype(np.float32), mask)
    with pytest.raises(UserError, match="one mask per image"):
        painter.inpaint_batch([rgb], [])


def test_import_inpaint_stays_light():
    code = "import sys, inpaint; inpaint.__version__; print('torch' in sys.modules, 'onnxruntime' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split() == ["False", "False"]
