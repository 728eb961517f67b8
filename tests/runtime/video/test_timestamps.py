"""Timestamp repair: out of order, repeated, missing -> strictly increasing, same span."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from inpaint.runtime.video.timestamps import TimestampRepair, repair_time_base


def _repair(pts, nominal=None, window=16):
    r = TimestampRepair(nominal=nominal, window=window)
    out = [t for p in pts for t in r.push(p)]
    return out + r.finish(), r.repaired


def test_in_order_times_are_kept_exactly():
    pts = [0, 512, 1024, 2048, 2560, 4000]  # variable frame rate
    assert _repair(pts) == (pts, 0)


def test_swapped_pair_is_put_back_in_order():
    out, repaired = _repair([1, 2, 3, 5, 4, 6, 7])
    assert out == [1, 2, 3, 4, 5, 6, 7] and repaired == 2


def test_repeated_and_missing_times_are_spread_between_neighbours():
    out, _ = _repair([0, 40, 40, 120, None, 200])
    assert out == [0, 40, 80, 120, 160, 200]


def test_missing_time_at_the_end_takes_one_nominal_frame():
    out, _ = _repair([0, 40, 80, None], nominal=40)
    assert out == [0, 40, 80, 120]


@pytest.mark.parametrize("window", [1, 4, 16])
def test_random_damage_comes_out_strictly_increasing_with_the_same_span(window):
    rng = np.random.default_rng(window)
    true = list(range(0, 40 * 200, 40))
    damaged = list(true)
    for i in rng.integers(1, len(true) - 2, 20):  # local swaps
        damaged[i], damaged[i + 1] = damaged[i + 1], damaged[i]
    for i in rng.integers(1, len(true) - 1, 10):  # duplicates and holes
        damaged[i] = damaged[i - 1] if i % 2 else None
    damaged[0], damaged[-1] = 0, true[-1]
    out, _ = _repair(damaged, nominal=40, window=window)
    assert len(out) == len(true)
    assert all(b > a for a, b in zip(out, out[1:]))
    assert out[0] == 0 and abs(out[-1] - true[-1]) <= (0 if window >= 2 else 40 * 12)


def test_coarse_time_base_is_refined():
    assert repair_time_base(Fraction(1, 25)) == (Fraction(1, 1000), 40)
    assert repair_time_base(Fraction(1, 12800)) == (Fraction(1, 12800), 1)
