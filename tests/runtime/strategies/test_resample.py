"""Shrinking and band-wise enlarging against OpenCV's whole-image resize."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inpaint.runtime.strategies.resample import enlarge_region, shrink, shrink_hole


@pytest.mark.parametrize("interpolation", [cv2.INTER_CUBIC, cv2.INTER_LINEAR])
def test_enlarge_region_is_a_slice_of_cv2_resize(interpolation):
    small = np.random.default_rng(0).random((40, 64, 3), dtype=np.float32)
    whole = cv2.resize(small, (301, 187), interpolation=interpolation)
    band = enlarge_region(small, (187, 301), (50, 120), (0, 301), interpolation)
    corner = enlarge_region(small, (187, 301), (150, 187), (250, 301), interpolation)
    # warpAffine samples at 1/32 pixel: a few thousandths from resize's exact positions on random data
    assert np.abs(band - whole[50:120]).max() < 0.02 and np.abs(band - whole[50:120]).mean() < 2e-3
    assert np.abs(corner - whole[150:, 250:]).max() < 0.02


def test_shrink_keeps_dtype_scale_and_any_hole():
    deep = np.full((300, 400, 3), 65535, np.uint16)
    assert shrink(deep, (60, 80)).shape == (60, 80, 3) and np.allclose(shrink(deep, (60, 80)), 1.0)
    hole = np.zeros((3000, 4000), bool)
    hole[1234, 2345] = True  # one pixel of a 50 x 50 block still marks its target pixel
    small = shrink_hole(hole, (60, 80))
    assert small.sum() == 1 and small[1234 * 60 // 3000, 2345 * 80 // 4000]
    same = shrink_hole(hole[:60, :80], (60, 80))
    assert same.shape == (60, 80) and not same.any()
