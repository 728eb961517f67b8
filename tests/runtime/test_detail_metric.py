"""The detail figure (TEXTURE.md) and the object-shaped holes of the texture benchmark."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inpaint.metrics import detail_energy, detail_ratio
from inpaint.runtime.evaluate import Case, evaluate, make_object_masks
from inpaint.runtime.io import read_mask, write_image
from inpaint.runtime.silhouettes import object_silhouette


def _photo(seed=0, h=80, w=100):
    return np.random.default_rng(seed).random((h, w, 3)).astype(np.float32)


def _hole(h=80, w=100):
    hole = np.zeros((h, w), bool)
    hole[20:60, 30:80] = True
    return hole


def test_detail_of_truth_flat_blur_and_noise():
    truth, hole = _photo(), _hole()
    assert detail_ratio(truth, truth, hole) == pytest.approx(1.0)
    flat = truth.copy()
    flat[hole] = 0.5
    assert detail_ratio(flat, truth, hole) == 0.0
    assert detail_ratio(cv2.GaussianBlur(truth, (0, 0), 1.5), truth, hole) < 0.5
    noisy = np.clip(truth + np.random.default_rng(1).normal(0, 0.3, truth.shape), 0, 1).astype(np.float32)
    assert detail_ratio(noisy, truth, hole) > 1.0


def test_detail_leaves_out_the_two_pixel_rim():
    """A difference only in the hole's outer 2 px does not move the figure (the seam is not texture)."""
    truth, hole = _photo(), _hole()
    out = truth.copy()
    rim = hole & ~(cv2.erode(hole.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)
    out[rim] = 0.0
    # the 3x3 Laplacian of the core's outermost ring reads the rim: compare on the core shrunk 1 px more
    core = cv2.erode(hole.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert detail_energy(out, core) == pytest.approx(detail_energy(truth, core))
    assert detail_ratio(out, truth, hole) != pytest.approx(1.0)  # the ring next to the rim does see it
    assert abs(detail_ratio(out, truth, hole) - 1.0) < 0.3


def test_detail_of_a_flat_truth_is_nan_and_the_summary_takes_the_median():
    flat = np.full((40, 40, 3), 0.5, np.float32)
    hole = np.zeros((40, 40), bool)
    hole[10:30, 10:30] = True
    assert np.isnan(detail_ratio(_photo(0, 40, 40), flat, hole))
    rgb = (_photo(2) * 255).astype(np.uint8)
    cases = [Case(f"c{i}", rgb, _hole()) for i in range(3)]
    scale = iter([0.0, 0.5, 3.0])  # detail 0, 0.5-ish, 1 (clipped noise) -> the median is the middle one

    def method(x, hole):
        s = next(scale)
        out = x.astype(np.float32)
        mean = out[hole].mean(0)
        out[hole] = mean + s * (out[hole] - mean)
        return np.clip(out, 0, 255).astype(np.uint8)

    report = evaluate(cases, None, baselines=(), extra_methods={"m": method})
    details = sorted(r["detail"]["m"] for r in report.rows)
    assert report.summary()["overall"]["m"]["detail"] == pytest.approx(details[1])
    assert details[0] == 0.0 and details[2] > 1.0


def test_object_masks_are_one_solid_object_in_range(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    write_image(images / "a.png", (np.ones((120, 160, 3)) * 100).astype(np.uint8))
    write_image(images / "b.png", (np.ones((90, 200, 3)) * 100).astype(np.uint8))
    first = make_object_masks(images, tmp_path / "m1", per_photo=3, seed=4)
    second = make_object_masks(images, tmp_path / "m2", per_photo=3, seed=4)
    assert [p.name for p in first] == ["a__o0.png", "a__o1.png", "a__o2.png", "b__o0.png", "b__o1.png", "b__o2.png"]
    for p, q in zip(first, second):
        hole = read_mask(p)
        assert np.array_equal(hole, read_mask(q))  # deterministic
        assert 0.07 <= hole.mean() <= 0.26
        assert cv2.connectedComponents(hole.astype(np.uint8))[0] == 2  # background + one object
        assert not hole[:2].any() and not hole[-2:].any() and not hole[:, :2].any() and not hole[:, -2:].any()


def test_silhouette_refuses_a_tiny_picture():
    with pytest.raises(ValueError, match="too small"):
        object_silhouette((8, 8), np.random.default_rng(0), 0.1)
