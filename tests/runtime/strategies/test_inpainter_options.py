"""``Inpainter(strategy=, dilate=)`` and the per-call overrides of ``inpaint`` / ``inpaint_batch``."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint.errors import UserError
from inpaint.runtime.inpainter import Inpainter
from tests.runtime.fakes import FillRunner


def _picture(h=300, w=400):
    rgb = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[100:110, 100:110] = 255
    return rgb, mask


def test_strategy_and_dilate_defaults_and_overrides():
    runner = FillRunner()
    painter = Inpainter(runner, strategy="crop", dilate=2, texture="off")  # the fill itself is checked
    rgb, mask = _picture()
    out = painter.inpaint(rgb, mask)
    assert runner.calls == [(1, 3, 64, 64)]  # one window at the working size
    grown = np.zeros(mask.shape, bool)
    grown[98:112, 98:112] = True
    assert np.array_equal(out[~grown], rgb[~grown]) and (out[grown] == 128).all()
    painter.inpaint(rgb, mask, strategy="full", dilate=0)
    assert runner.calls[-1] == (1, 3, 304, 400)
    painter.inpaint_batch([rgb, rgb], [mask, mask], strategy="crop")
    assert runner.calls[-1] == (2, 3, 64, 64)
    with pytest.raises(UserError, match="--strategy tiles"):
        painter.inpaint(rgb, mask, strategy="tiles")
    with pytest.raises(UserError, match="dilate=-1"):
        painter.inpaint(rgb, mask, dilate=-1)


def test_load_checks_the_options_before_loading(tmp_path):
    with pytest.raises(UserError, match="--strategy huge"):
        Inpainter.load(tmp_path / "missing.onnx", strategy="huge")
    with pytest.raises(UserError, match="dilate=-3"):
        Inpainter.load(tmp_path / "missing.onnx", dilate=-3)
