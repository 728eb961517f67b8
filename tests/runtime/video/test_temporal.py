"""``--temporal``: known pixels untouched, still scenes keep their fill, panning scenes flicker less, cuts reset."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint.runtime.processing import composite
from inpaint.runtime.video.flicker import warping_error
from inpaint.runtime.video.temporal import TemporalSteadier, is_scene_cut, grey
from tests.runtime.video.scenes import cut, fixed_camera, panning_camera

SIZE = (96, 128)


def _noisy_fills(frames, holes, seed=0):
    """Frame-by-frame 'inpainting' that flickers: an independent random fill around the scene's mean."""
    rng = np.random.default_rng(seed)
    out = []
    for f, h in zip(frames, holes):
        gen = np.clip(0.5 + rng.normal(0, 0.15, f.shape), 0, 1).astype(np.float32)
        out.append(composite(f, gen, h))
    return out


def _steady(frames, holes, fills):
    s = TemporalSteadier()
    return [s.step(f, r, h) for f, r, h in zip(frames, fills, holes)], s.decisions


@pytest.mark.parametrize("scene", [fixed_camera, panning_camera, cut], ids=["fixed", "panning", "cut"])
def test_known_pixels_stay_untouched(scene):
    frames, holes = scene(12, SIZE)
    fills = _noisy_fills(frames, holes)
    steadied, _ = _steady(frames, holes, fills)
    for f, h, s in zip(frames, holes, steadied):
        assert np.array_equal(s[~h], f[~h])


def test_still_scene_keeps_the_previous_fill():
    frames, holes = fixed_camera(10, SIZE)
    fills = _noisy_fills(frames, holes)
    steadied, decisions = _steady(frames, holes, fills)
    assert decisions == {"first": 1, "still": 9}
    for s in steadied[1:]:
        assert np.array_equal(s[holes[0]], steadied[0][holes[0]])
    plain = warping_error(zip(frames, fills, holes))
    steady = warping_error(zip(frames, steadied, holes))
    assert steady <= 0.7 * plain and plain > 10


def test_panning_scene_flickers_less():
    frames, holes = panning_camera(16, SIZE)
    fills = _noisy_fills(frames, holes)
    steadied, decisions = _steady(frames, holes, fills)
    assert decisions.get("flow", 0) == 15
    plain = warping_error(zip(frames, fills, holes))
    steady = warping_error(zip(frames, steadied, holes))
    assert steady <= 0.7 * plain, (steady, plain)


def test_a_scene_cut_starts_afresh():
    frames, holes = cut(10, SIZE)
    assert is_scene_cut(grey(frames[4]), grey(frames[5])) and not is_scene_cut(grey(frames[0]), grey(frames[1]))
    fills = _noisy_fills(frames, holes)
    steadied, decisions = _steady(frames, holes, fills)
    assert decisions["cut"] == 1
    assert np.array_equal(steadied[5], fills[5])  # the first frame after the cut: its own fill, nothing carried over
