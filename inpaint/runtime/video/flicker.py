"""The flicker figure: the warping error inside the hole (after Lai et al., ECCV 2018).

For each t >= 1: the OUTPUT frame t-1 is warped to t along the DIS optical flow (preset medium) computed
between the INPUT frames t and t-1; the figure for t is the mean absolute difference (grey levels of 255,
over the three channels) to the output frame t inside the hole of frame t. The clip's figure is the
median over t. Frames whose hole is empty are left out. Lower is steadier; 0 = the fill moves exactly
with the input's motion.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from inpaint.runtime.video.temporal import dis_flow, grey, warp

__all__ = ["WarpingError", "warping_error", "measure_flicker"]


class WarpingError:
    """Streaming form: :meth:`add` (input rgb, output rgb, hole) in order, then :attr:`median`."""

    def __init__(self):
        self._prev: tuple[np.ndarray, np.ndarray] | None = None
        self.per_frame: list[float] = []

    def add(self, rgb: np.ndarray, output: np.ndarray, hole: np.ndarray) -> None:
        g = grey(rgb)
        if self._prev is not None and hole.any():
            prev_g, prev_out = self._prev
            warped = warp(prev_out, dis_flow(g, prev_g)).astype(np.float32)
            self.per_frame.append(float(np.abs(warped[hole] - output[hole].astype(np.float32)).mean()))
        self._prev = (g, output)

    @property
    def median(self) -> float:
        return float(np.median(self.per_frame)) if self.per_frame else float("nan")


def warping_error(frames: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> float:
    """Median warping error of (input rgb (H, W, 3) uint8, output rgb (H, W, 3) uint8, hole (H, W) bool)."""
    w = WarpingError()
    for rgb, output, hole in frames:
        w.add(rgb, output, hole)
    return w.median


def measure_flicker(runner, clip, mask, *, batch: int = 1, hold_last: bool = False,
                    infer_options: dict | None = None) -> dict:
    """The figure for one clip, frame by frame and with ``--temporal``: runs :func:`run_clip` twice (the
    outputs go to a temporary folder and are deleted) and measures the frames handed to the encoder.

    Returns {"frame_by_frame": float, "temporal": float, "ratio": temporal / frame_by_frame (nan when 0),
    "frames": int, "decisions": what --temporal did}.
    """
    import tempfile
    from pathlib import Path

    from inpaint.runtime.video.pipeline import run_clip

    row: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for temporal in (False, True):
            metric = WarpingError()
            result = run_clip(runner, clip, mask, Path(tmp) / ("out" + Path(clip).suffix), batch=batch,
                              temporal=temporal, hold_last=hold_last, infer_options=infer_options,
                              frame_hook=lambda i, rgb, out, hole: metric.add(rgb, out, hole))
            row["temporal" if temporal else "frame_by_frame"] = metric.median
        row["frames"], row["decisions"] = result.frames, result.temporal
    fbf = row["frame_by_frame"]
    row["ratio"] = row["temporal"] / fbf if fbf else float("nan")
    return row
