"""The crop planner: merged groups, windows inside the photo, every hole pixel owned by exactly one window."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint.runtime.strategies import windows as W
from inpaint.runtime.strategies.windows import Plan, Window, plan_windows, whole_photo


def _coverage(plan: Plan) -> np.ndarray:
    """(H, W) int: how many windows own each pixel."""
    count = np.zeros(plan.hole.shape, np.int64)
    for i, win in enumerate(plan.windows):
        assert 0 <= win.y0 < win.y1 <= plan.hole.shape[0] and 0 <= win.x0 < win.x1 <= plan.hole.shape[1]
        count[win.y0 : win.y1, win.x0 : win.x1] += plan.owned(i)
    return count


def _assert_exact_cover(plan: Plan) -> None:
    count = _coverage(plan)
    assert np.array_equal(count == 1, plan.hole) and count.max() <= 1


def _box(hole, y0, x0, y1, x1):
    hole[y0:y1, x0:x1] = True


def test_two_far_holes_get_two_disjoint_windows():
    hole = np.zeros((600, 1000), bool)
    _box(hole, 100, 100, 140, 150)
    _box(hole, 400, 800, 450, 860)
    plan = plan_windows(hole, 64)
    assert len(plan.windows) == 2
    a, b = plan.windows
    assert a.overlap(b) == 0
    # the context grows with the hole: margin = max(16, 0.5 * long side) on each side, at least 64 wide
    assert {(w.h, w.w) for w in plan.windows} == {(100, 100), (120, 120)}
    _assert_exact_cover(plan)


def test_nearby_holes_share_one_window():
    hole = np.zeros((400, 400), bool)
    _box(hole, 100, 100, 110, 110)
    _box(hole, 100, 125, 112, 133)  # 15 px to the right: their 64 px windows overlap by ~75 %
    plan = plan_windows(hole, 64)
    assert len(plan.windows) == 1
    _assert_exact_cover(plan)


def test_far_apart_holes_are_not_merged_into_a_huge_window():
    hole = np.zeros((400, 400), bool)
    _box(hole, 100, 100, 140, 140)
    _box(hole, 100, 170, 140, 210)  # windows 80 px wide overlap, but one window around both would be 2x larger
    plan = plan_windows(hole, 64)
    assert len(plan.windows) == 2
    _assert_exact_cover(plan)


def test_specks_are_merged_into_a_neighbour_or_kept_never_dropped():
    hole = np.zeros((500, 500), bool)
    _box(hole, 200, 200, 240, 240)
    hole[215, 245] = True  # a speck inside the big hole's window (5 px beside it): pasted by that window
    hole[30, 470] = True  # a lonely speck: a window of its own
    plan = plan_windows(hole, 64)
    assert len(plan.windows) == 2
    _assert_exact_cover(plan)
    lonely = [i for i, w in enumerate(plan.windows) if w.y0 <= 30 < w.y1 and w.x0 <= 470 < w.x1 and plan.owned(i).sum() == 1]
    assert len(lonely) == 1 and (plan.windows[lonely[0]].h, plan.windows[lonely[0]].w) == (64, 64)


@pytest.mark.parametrize("corner", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_holes_at_the_border_get_windows_shifted_inside(corner):
    hole = np.zeros((300, 200), bool)
    ys = slice(0, 20) if corner[0] == 0 else slice(280, 300)
    xs = slice(0, 30) if corner[1] == 0 else slice(170, 200)
    hole[ys, xs] = True
    plan = plan_windows(hole, 64)
    (win,) = plan.windows
    assert (win.h, win.w) == (64, 64)  # shifted, not cut
    _assert_exact_cover(plan)


def test_a_hole_covering_most_of_the_photo_makes_one_window_of_the_photo():
    hole = np.ones((150, 220), bool)
    hole[:10] = False
    plan = plan_windows(hole, 64)
    assert plan.windows == [Window(0, 0, 150, 220)]
    assert plan.windows[0].target(64) == (44, 64)  # long side brought down to the working size
    _assert_exact_cover(plan)


def test_pooled_labels_still_cover_exactly_once(monkeypatch):
    monkeypatch.setattr(W, "MAX_LABEL_PIXELS", 5000)  # a 200x300 photo is labelled on a 3-pixel grid
    rng = np.random.default_rng(0)
    hole = rng.random((200, 300)) > 0.995
    _box(hole, 50, 50, 90, 120)
    plan = plan_windows(hole, 64)
    assert plan.cell == 4 and plan.labels.shape == (50, 75)
    _assert_exact_cover(plan)


def test_many_components_are_grouped_on_a_grid_first(monkeypatch):
    monkeypatch.setattr(W, "MAX_GROUPS", 10)
    hole = np.zeros((256, 256), bool)
    hole[::8, ::8] = True  # 1024 single-pixel specks
    plan = plan_windows(hole, 64)
    assert 1 <= len(plan.windows) <= 16
    _assert_exact_cover(plan)


def test_random_masks_cover_exactly_once():
    rng = np.random.default_rng(1)
    for k in range(5):
        hole = np.zeros((180, 260), bool)
        for _ in range(rng.integers(1, 8)):
            y, x = rng.integers(0, 170), rng.integers(0, 250)
            _box(hole, y, x, y + rng.integers(1, 60), x + rng.integers(1, 60))
        _assert_exact_cover(plan_windows(hole, 64))


def test_empty_hole_and_whole_photo():
    assert plan_windows(np.zeros((40, 50), bool), 64).windows == []
    hole = np.zeros((40, 50), bool)
    hole[3, 4] = True
    plan = whole_photo(hole)
    assert plan.windows == [Window(0, 0, 40, 50)] and np.array_equal(plan.owned(0), hole)
    with pytest.raises(ValueError, match="bool"):
        plan_windows(hole.astype(np.uint8), 64)
