"""The texture stage through every strategy: known pixels bit-identical, texture in the hole, step 2 at full size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inpaint.runtime.pipeline import inpaint_arrays
from inpaint.runtime.strategies import STRATEGIES
from tests.runtime.fakes import FillRunner


def _textured(h: int, w: int, dtype=np.uint8, seed: int = 0) -> np.ndarray:
    """A grey-ish photo with fine texture: smooth colour plus per-pixel noise (std 20 of 255)."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.random((6, 8, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC) * 0.5 + 0.25
    photo = np.clip(base + rng.normal(0, 20 / 255, (h, w, 3)), 0, 1)
    top = np.iinfo(dtype).max
    return np.rint(photo * top).astype(dtype)


def _holes(h: int, w: int) -> np.ndarray:
    hole = np.zeros((h, w), bool)
    hole[h // 3 : h // 3 + h // 6, w // 4 : w // 4 + w // 5] = True
    hole[2 * h // 3 : 2 * h // 3 + 12, w // 2 : w // 2 + 20] = True
    return hole


def _roughness(x: np.ndarray, region: np.ndarray) -> float:
    grey = cv2.cvtColor(x.astype(np.float32) / np.iinfo(x.dtype).max, cv2.COLOR_RGB2GRAY)
    core = cv2.erode(region.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=1))[core].mean())


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_texture_goes_in_and_known_pixels_stay(strategy, dtype):
    """FillRunner paints a flat 0.5: with the stage on, the hole gets the photo's roughness back."""
    runner = FillRunner().activate()  # working size 64: a 300x400 photo is shrunk for crop / resize
    rgb, hole = _textured(300, 400, dtype), _holes(300, 400)
    (off,) = inpaint_arrays(runner, [rgb], [hole], strategy=strategy, texture="off")
    (on,) = inpaint_arrays(runner, [rgb], [hole], strategy=strategy)
    for out in (off, on):
        assert out.dtype == dtype and np.array_equal(out[~hole], rgb[~hole])
    truth = _roughness(rgb, hole)
    assert _roughness(off, hole) < 0.1 * truth
    # white noise lives above the working size (64 px for FillRunner): where the window is shrunk only step 2
    # brings it back, at strength x FULL_RESOLUTION_SHARE = 0.35 of its amplitude
    low = 0.5 if strategy == "full" else 0.2
    assert low * truth < _roughness(on, hole) < 1.2 * truth


def test_step_two_adds_the_full_resolution_detail():
    """A shrunk window: without step 2 (detail above the working size) the fill keeps far less roughness."""
    runner = FillRunner().activate()
    rgb, hole = _textured(300, 400), _holes(300, 400)
    (on,) = inpaint_arrays(runner, [rgb], [hole], strategy="resize")
    # the same stage with the window's full-resolution residual left out: patch window_detail to add nothing
    import inpaint.runtime.strategies.crop as crop

    original = crop.window_detail
    crop.window_detail = lambda detail, rows, cols: np.zeros((rows[1] - rows[0], cols[1] - cols[0], 3), np.float32)
    try:
        (no_step2,) = inpaint_arrays(runner, [rgb], [hole], strategy="resize")
    finally:
        crop.window_detail = original
    assert _roughness(on, hole) > 3 * _roughness(no_step2, hole)
