"""inpaint.metrics.detail_energy / detail_ratio: TEXTURE.md's "detail" against hand-made cases."""

import cv2
import numpy as np
import pytest

from inpaint.metrics import DETAIL_ERODE_PX, detail_energy, detail_ratio


def _truth(h=64, w=80, seed=0):
    """(h, w, 3) float32 in [0.25, 0.75]: texture with room for noise either way."""
    return (0.25 + 0.5 * np.random.default_rng(seed).random((h, w, 3))).astype(np.float32)


def _hole(h=64, w=80):
    hole = np.zeros((h, w), bool)
    hole[16:48, 20:60] = True
    return hole


def _rim(hole, px):
    """The hole's pixels within ``px`` px (chessboard) of a known pixel."""
    side = 2 * px + 1
    return hole & ~(cv2.erode(hole.astype(np.uint8), np.ones((side, side), np.uint8)) > 0)


def test_truth_flat_blur_noise():
    truth, hole = _truth(), _hole()
    assert detail_ratio(truth, truth, hole) == pytest.approx(1.0)
    flat = truth.copy()
    flat[hole] = truth[hole].mean(0)
    assert detail_ratio(flat, truth, hole) == pytest.approx(0.0, abs=1e-6)
    assert detail_ratio(cv2.GaussianBlur(truth, (0, 0), 1.0), truth, hole) < 0.7
    noisy = np.clip(truth + np.random.default_rng(1).normal(0, 0.1, truth.shape), 0, 1).astype(np.float32)
    assert detail_ratio(noisy, truth, hole) > 1.1


def test_laplacian_is_the_3x3_aperture_on_bt601_grey():
    """One bright pixel in grey: |Laplacian| 4 at it and 1 at its four neighbours; RGB2GRAY = BT.601 weights."""
    img = np.zeros((9, 9), np.float32)
    img[4, 4] = 1.0
    region = np.zeros((9, 9), bool)
    region[3:6, 3:6] = True  # centre 4 + 4 neighbours at 1 + 4 corners at 0
    assert detail_energy(img, region) == pytest.approx(8 / 9)
    rgb = np.zeros((9, 9, 3), np.float32)
    rgb[4, 4] = (1.0, 0.0, 0.0)
    assert detail_energy(rgb, region) == pytest.approx(0.299 * 8 / 9, rel=1e-3)


def test_uint8_and_float_agree():
    truth, hole = _truth(), _hole()
    blurred = cv2.GaussianBlur(truth, (0, 0), 1.0)
    as8 = lambda x: np.round(x * 255).astype(np.uint8)  # noqa: E731
    ref = detail_ratio(as8(blurred) / 255.0, as8(truth) / 255.0, hole)
    assert detail_ratio(as8(blurred), as8(truth), hole) == pytest.approx(ref, rel=1e-5)
    assert detail_ratio(as8(blurred), as8(truth) / 255.0, hole) == pytest.approx(ref, rel=1e-5)
    assert detail_energy(as8(truth), hole) == pytest.approx(detail_energy(as8(truth) / 255.0, hole), rel=1e-5)


def test_the_seam_is_left_out():
    """Output differs only outside the hole and in the hole's outermost pixel row: exactly 1.0 (the core is the
    hole eroded 2 px; its 3x3 Laplacian reads 2 px deep at most). A difference 2 px in, or deeper, counts."""
    truth, hole = _truth(), _hole()
    assert DETAIL_ERODE_PX == 2
    seam = truth.copy()
    seam[~hole] = 0.0
    seam[_rim(hole, 1)] = 1.0
    assert detail_ratio(seam, truth, hole) == pytest.approx(1.0, abs=1e-6)
    deeper = truth.copy()
    deeper[_rim(hole, 2) & ~_rim(hole, 1)] = 1.0  # the rim's inner row: the core's outer row reads it
    assert detail_ratio(deeper, truth, hole) != pytest.approx(1.0, abs=1e-3)
    half = truth.copy()
    half[hole] *= 0.5  # the Laplacian is linear: half the texture everywhere the core's Laplacian reads
    assert detail_ratio(half, truth, hole) == pytest.approx(0.5, rel=1e-5)


def test_thin_hole_falls_back_and_flat_truth_is_nan():
    truth = _truth()
    thin = np.zeros(truth.shape[:2], bool)
    thin[30:33, 10:70] = True  # 3 px wide: erosion leaves nothing, the whole hole is used
    assert detail_ratio(truth, truth, thin) == pytest.approx(1.0)
    flat = truth.copy()
    flat[thin] = 0.5
    assert 0.0 < detail_ratio(flat, truth, thin) < 1.0  # the hole's own pixels are flat; their edges are not
    assert np.isnan(detail_ratio(truth, np.full_like(truth, 0.5), _hole()))
    assert np.isnan(detail_ratio(truth, truth, np.zeros(truth.shape[:2], bool)))
