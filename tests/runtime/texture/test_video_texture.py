"""Clip frames go through the texture stage too: known pixels stay the decoded frame's, the hole gets texture."""

from __future__ import annotations

import numpy as np

from inpaint.runtime.video.pipeline import run_clip
from tests.runtime.fakes import FillRunner
from tests.runtime.video.clips import make_clip
from tests.runtime.video.conftest import write_mask

SIZE = (96, 128)
BOX = (30, 70, 40, 100)


def _frames(tmp_path, texture):
    clip, out = tmp_path / "in.mp4", tmp_path / f"out-{texture}.mp4"
    if not clip.exists():
        make_clip(clip, 6, SIZE)
        write_mask(tmp_path / "m.png", SIZE, BOX)
    seen = {}

    def hook(index, rgb, res, hole):
        seen[index] = (rgb.copy(), res.copy(), hole.copy())

    with FillRunner(stride=16, value=0.25) as runner:
        result = run_clip(runner, clip, tmp_path / "m.png", out, frame_hook=hook, infer_options={"texture": texture})
    assert result.frames == 6 and out.is_file()
    return seen


def test_clip_frames_get_texture_and_keep_known_pixels(tmp_path):
    off, on = _frames(tmp_path, "off"), _frames(tmp_path, "on")
    assert sorted(on) == sorted(off) == list(range(6))
    for i in range(6):
        rgb, res_on, hole = on[i]
        _, res_off, _ = off[i]
        assert np.array_equal(res_on[~hole], rgb[~hole]) and np.array_equal(res_off[~hole], rgb[~hole])
        assert np.all(res_off[hole] == 64)  # FillRunner's flat 0.25
        assert (res_on[hole] != 64).mean() > 0.2  # the frame's own texture (the moving bar's edges, codec grain)
