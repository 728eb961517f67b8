"""Flow-guided propagation: a pan gets its true pixels back, what no frame shows goes to the model (and only
that), a scene cut ends every trajectory, 1-frame and still static-mask clips work, memory is a window."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inpaint.runtime.video import propagate as propagate_module
from inpaint.runtime.video.pipeline import run_clip
from inpaint.runtime.video.propagate import Propagator
from tests.runtime.video.clips import read_clip

H, W, STEP = 64, 96, 3  # frames (H, W); the camera pans by STEP whole pixels a frame
FILL = 64  # FillRunner(value=0.25) in the hole, with the texture stage off: round(0.25 * 255)


def pan(n: int, seed: int = 0, step: int = STEP) -> list[np.ndarray]:
    """n frames (H, W, 3) uint8 of a textured scene (noise blurred at 1.5 px: detail everywhere, so the flow
    is exact) sliding left by ``step`` px a frame."""
    noise = np.random.default_rng(seed).random((H, W + step * n, 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 1.5)
    scene = ((smooth - smooth.min()) / (smooth.max() - smooth.min()) * 255).astype(np.uint8)
    return [np.ascontiguousarray(scene[:, step * t : step * t + W]) for t in range(n)]


def box(y0, y1, x0, x1) -> np.ndarray:
    hole = np.zeros((H, W), bool)
    hole[y0:y1, x0:x1] = True
    return hole


def shown(t: int, n: int, x0: int, x1: int) -> np.ndarray:
    """(W,) bool: column x of frame t of a :func:`pan` of n frames is shown by some frame outside the hole
    columns [x0, x1) (it shows scene column x + STEP * t, which frame s has at x - STEP * (s - t))."""
    return np.array([any(0 <= x - STEP * (s - t) < W and not x0 <= x - STEP * (s - t) < x1 for s in range(n))
                     for x in range(W)])


def run_window(frames, holes, reach=8, model=None):
    """Everything through a Propagator; ``model(image, rest)`` completes a frame (default: FILL)."""
    window, fills, outs = Propagator(reach=reach), [], []

    def drain(final):
        while window.pending(final):
            f = window.fill()
            out = f.image.copy()
            out[f.rest] = FILL if model is None else model(f.image, f.rest)[f.rest]
            window.commit(out)
            fills.append(f)
            outs.append(out)
            assert window.held <= 2 * reach + 1

    for rgb, hole in zip(frames, holes):
        window.add(rgb, hole)
        drain(False)
    drain(True)
    return fills, outs, window


def test_a_pan_under_a_fixed_mask_gets_the_true_pixels_back_exactly():
    frames = pan(12)
    hole = box(20, 44, 36, 60)  # 24 px wide: each pixel shows 8 frames later
    fills, outs, window = run_window(frames, [hole] * 12)
    for f, out, truth in zip(fills, outs, frames):
        assert f.rest.sum() == 0 and f.seen == hole.sum()
        assert np.array_equal(out, truth)  # hole pixels exact, known pixels untouched
    assert window.stats == {"seen": 12 * int(hole.sum()), "carried": 0, "model": 0, "cuts": 0}


def test_pixels_no_frame_shows_go_to_the_model():
    n, x0 = 6, W - 12
    frames = pan(n)
    hole = box(16, 40, x0, W)  # at the right edge: what enters the frame there was never seen before
    fills, outs, _ = run_window(frames, [hole] * n)
    counts = [0, 0]
    for t, (f, out, truth) in enumerate(zip(fills, outs, frames)):
        cols = shown(t, n, x0, W)
        seen, never = hole & cols[None], hole & ~cols[None]
        diff = np.abs(out[seen].astype(int) - truth[seen])  # trajectories along the frame's edge, where DIS
        assert diff.max(initial=0) <= 1 and (diff == 0).sum() >= 0.99 * diff.size  # is off by > SNAP_PX: within a code
        assert np.all(out[never] == FILL)
        assert np.array_equal(out[~hole], truth[~hole])
        counts[0], counts[1] = counts[0] + seen.sum(), counts[1] + never.sum()
    assert min(counts) > 100 and fills[-1].rest.any() and not fills[0].rest.any()


def test_a_scene_cut_ends_every_trajectory(monkeypatch):
    # the pan goes on, but graded 4x darker from frame 5: a cut (the histograms differ) whose content the
    # flow still matches (DIS compares mean-normalised patches), so only the detector stops the trajectories
    scene = pan(10, seed=1)
    frames = scene[:5] + [f // 4 for f in scene[5:]]
    hole = box(20, 44, 36, 60)
    fills, outs, window = run_window(frames, [hole] * 10)
    assert window.stats["cuts"] == 1
    for t, (out, truth) in enumerate(zip(outs, frames)):  # each shot from its own frames, the model for the rest
        shot = t // 5
        seen = hole & shown(t - 5 * shot, 5, 36, 60)[None]
        assert seen.any() and np.array_equal(out[seen], truth[seen])
        assert np.all(out[hole & ~seen] == FILL)
    # the same clip with the detector switched off: the dark shot's first frame takes the bright shot's pixels
    monkeypatch.setattr(propagate_module, "is_scene_cut", lambda x, y: False)
    _, uncut, _ = run_window(frames, [hole] * 10)
    brightened = (uncut[5][hole].astype(int) > frames[5][hole].astype(int) + 16).all(1) & (uncut[5][hole] != FILL).any(1)
    assert brightened.sum() > 0.1 * hole.sum()


def test_still_camera_and_static_mask_the_model_fills_once_and_it_is_kept(tmp_path):
    from tests.runtime.fakes import FillRunner

    frames = pan(8, step=0)
    clip = tmp_path / "still.mkv"
    _ffv1(clip, frames)
    hole = box(16, 48, 32, 64)
    cv2.imwrite(str(tmp_path / "m.png"), hole.astype(np.uint8) * 255)
    seen = []
    with FillRunner(stride=16, value=0.25) as runner:
        result = run_clip(runner, clip, tmp_path / "m.png", tmp_path / "out.mkv", mode="propagate", codec="ffv1",
                          infer_options={"texture": "off"}, frame_hook=lambda i, rgb, out, h: seen.append((rgb, out)))
    assert result.frames == 8 and result.inferred == 1  # the first frame only; later ones carry its fill
    assert result.propagation["model"] == hole.sum() and result.propagation["carried"] == 7 * hole.sum()
    for rgb, out in seen:
        assert np.all(out[hole] == FILL) and np.array_equal(out[~hole], rgb[~hole])
    written = read_clip(tmp_path / "out.mkv")["frames"]
    assert len(written) == 8 and all(np.array_equal(w, o) for w, (_, o) in zip(written, seen))


def test_one_frame_clip_and_a_lossless_pan_through_run_clip(tmp_path):
    from tests.runtime.fakes import FillRunner

    hole = box(20, 44, 36, 60)
    cv2.imwrite(str(tmp_path / "m.png"), hole.astype(np.uint8) * 255)
    frames = pan(10)
    for n in (1, 10):
        clip = tmp_path / f"pan{n}.mkv"
        _ffv1(clip, frames[:n])
        seen = []
        with FillRunner(stride=16, value=0.25) as runner:
            result = run_clip(runner, clip, tmp_path / "m.png", tmp_path / f"out{n}.mkv", mode="propagate",
                              codec="ffv1", infer_options={"texture": "off"},
                              frame_hook=lambda i, rgb, out, h: seen.append(out))
        assert result.frames == n and len(read_clip(tmp_path / f"out{n}.mkv")["frames"]) == n
        if n == 1:
            assert result.inferred == 1 and np.all(seen[0][hole] == FILL)
        else:
            assert result.inferred == 0 and all(np.array_equal(o, f) for o, f in zip(seen, frames))


def test_bad_mode_is_a_user_error(tmp_path):
    from inpaint.errors import UserError

    with pytest.raises(UserError, match="--video-mode"):
        run_clip(None, tmp_path / "x.mp4", tmp_path / "m.png", tmp_path / "o.mp4", mode="flow")
    with pytest.raises(UserError, match="--temporal"):
        run_clip(None, tmp_path / "x.mp4", tmp_path / "m.png", tmp_path / "o.mp4", mode="frames", temporal=True)


def _ffv1(path, frames) -> None:
    """A lossless RGB clip (FFV1, bgr0): decoded frames are the given ones, bit for bit."""
    import av

    out = av.open(str(path), "w")
    s = out.add_stream("ffv1", rate=25)
    s.width, s.height, s.pix_fmt = W, H, "bgr0"
    for i, rgb in enumerate(frames):
        f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        f.pts = i
        for p in s.encode(f):
            out.mux(p)
    for p in s.encode():
        out.mux(p)
    out.close()
