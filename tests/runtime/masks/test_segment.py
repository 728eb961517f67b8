"""GrabCut from a box / a rough brush on synthetic scenes whose object mask is exact; the clean-up; bad boxes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inpaint.errors import UserError
from inpaint.runtime.masks.segment import check_box, clean, fill_holes, from_box, from_scribble, parse_box
from tests.runtime.masks.scenes import iou, photo


def _bbox(mask: np.ndarray, margin: int) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return xs.min() - margin, ys.min() - margin, xs.max() - xs.min() + 1 + 2 * margin, ys.max() - ys.min() + 1 + 2 * margin


@pytest.mark.parametrize("margin", [3, 12])
def test_box_finds_the_textured_object(margin):
    rgb, truth = photo()
    found = from_box(rgb, _bbox(truth, margin))
    assert iou(found, truth) > 0.95
    assert (found & truth).sum() / truth.sum() > 0.97
    box_area = np.prod(_bbox(truth, margin)[2:])
    assert found.sum() < 0.9 * box_area  # not the box itself: the object is not rectangular


def test_mask_never_leaves_the_box():
    rgb, truth = photo()
    x, y, w, h = _bbox(truth, 2)
    cut = x + int(0.8 * w)  # the arm's tip sticks out of this box
    found = from_box(rgb, (x, y, cut - x, h))
    inside = np.zeros_like(truth)
    inside[y : y + h, x:cut] = True
    assert not (found & ~inside).any()
    assert iou(found, truth & inside) > 0.9


def test_rough_brush_is_refined_to_the_edges():
    rgb, truth = photo()
    rng = np.random.default_rng(0)
    rough = cv2.dilate(truth.view(np.uint8), np.ones((11, 11), np.uint8)) > 0  # 5 px over the edge
    rough[rng.random(rough.shape) < 0.02] = False  # and a few holes where the brush skipped
    found = from_scribble(rgb, rough)
    assert iou(rough, truth) < 0.8
    assert iou(found, truth) > 0.95


def test_brush_short_of_the_edge_reaches_it():
    rgb, truth = photo()
    rough = cv2.erode(truth.view(np.uint8), np.ones((7, 7), np.uint8)) > 0  # 3 px inside the edge
    found = from_scribble(rgb, rough)
    assert (found & truth).sum() / truth.sum() > 0.97 > (rough & truth).sum() / truth.sum()


def test_clean_drops_specks_and_fills_holes():
    m = np.zeros((40, 40), bool)
    m[5:30, 5:30] = True
    m[12:18, 12:18] = False  # a hole inside
    m[35, 35] = True  # a speck
    out = clean(m)
    assert out[12:18, 12:18].all() and not out[35, 35] and out[5:30, 5:30].all()
    ring = np.zeros((20, 20), bool)
    ring[2:18, 2:18] = True
    ring[2:18, 9:11] = False  # a slot open to the border is not a hole
    assert np.array_equal(fill_holes(ring), ring)


@pytest.mark.parametrize("box, match", [
    ((200, 10, 30, 30), "outside the 160x120 picture"),
    ((-50, -50, 20, 20), "outside"),
    ((0, 0, 160, 120), "covers the whole"),
    ((10, 10, 1, 30), "2 pixels or more"),
])
def test_bad_boxes(box, match):
    with pytest.raises(UserError, match=match):
        check_box(box, (120, 160))


def test_box_partly_outside_is_clipped():
    assert check_box((-10, 100, 50, 50), (120, 160)) == (0, 100, 40, 20)


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "1;2;3;4", ""])
def test_parse_box_rejects(text):
    with pytest.raises(UserError, match="X,Y,W,H"):
        parse_box(text)


def test_empty_and_full_brushes_are_refused():
    rgb, _ = photo()
    with pytest.raises(UserError, match="empty"):
        from_scribble(rgb, np.zeros(rgb.shape[:2], bool))
    with pytest.raises(UserError, match="whole picture"):
        from_scribble(rgb, np.ones(rgb.shape[:2], bool))
