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

__all__ = ["WarpingError", "warping_error"]


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
