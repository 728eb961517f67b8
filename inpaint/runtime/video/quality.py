"""A clip's figures in every video mode, against the clean clip when there is one (``inpaint eval --video``).

Per mode (:data:`inpaint.runtime.video.pipeline.VIDEO_MODES`), on the frames handed to the encoder:

- ``warping_error``: the flicker figure of :mod:`inpaint.runtime.video.flicker` (no clean clip needed);
- ``hole_psnr`` (dB, with a clean clip): PSNR over every hole pixel of the clip together (their mean
  squared error pooled over frames), data range 255;
- ``temporal_error`` (grey levels, with a clean clip): mean over t >= 1 and the hole pixels of frame t of
  ``|(out_t - out_t-1) - (clean_t - clean_t-1)|`` (the three channels): 0 = the fill changes from frame
  to frame exactly as the truth does; frame-by-frame fills that flicker score high;
- ``seconds`` (wall time of the clip) and ``inferred`` (frames that ran the network).

Frames: (H, W, 3) uint8 RGB; holes (H, W) bool, True = hole (the mask as given, before any --dilate).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from inpaint.errors import UserError
from inpaint.runtime.video.flicker import WarpingError

__all__ = ["TruthScores", "measure_modes"]


class TruthScores:
    """Streaming hole PSNR and temporal error: :meth:`add` (output, clean, hole) in order."""

    def __init__(self):
        self._sq = 0.0
        self._n = 0
        self._temporal: list[float] = []
        self._prev: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, output: np.ndarray, clean: np.ndarray, hole: np.ndarray) -> None:
        out, truth = output.astype(np.float32), clean.astype(np.float32)
        if hole.any():
            self._sq += float(((out[hole] - truth[hole]) ** 2).sum())
            self._n += int(hole.sum()) * out.shape[2]
            if self._prev is not None:
                prev_out, prev_truth = self._prev
                change = (out[hole] - prev_out[hole]) - (truth[hole] - prev_truth[hole])
                self._temporal.append(float(np.abs(change).mean()))
        self._prev = (out, truth)

    @property
    def hole_psnr(self) -> float:
        if self._n == 0:
            return float("nan")
        mse = self._sq / self._n
        return 100.0 if mse <= 1e-10 else 10 * math.log10(255.0**2 / mse)

    @property
    def temporal_error(self) -> float:
        return float(np.mean(self._temporal)) if self._temporal else float("nan")


def _clean_frames(clean: str | Path | Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    if isinstance(clean, (str, Path)):
        from inpaint.runtime.video.decoder import ClipReader

        with ClipReader(clean) as reader:
            for frame in reader.frames():
                yield frame.rgb
    else:
        yield from clean


def measure_modes(runner, clip, mask, *, clean=None, modes: Iterable[str] = ("frames", "temporal", "propagate"),
                  hold_last: bool = False, infer_options: dict | None = None) -> dict:
    """Run :func:`run_clip` once per mode (outputs to a temporary folder, deleted) and measure it.

    clean: the clean clip (a path, or its frames in order), same size and frame count as ``clip``; None:
    warping error only. Returns {"frames": int, "modes": {mode: {"warping_error", "hole_psnr",
    "temporal_error", "seconds", "inferred"}}, and for ``inpaint eval``'s earlier JSON: "frame_by_frame",
    "temporal" (their warping errors) and "ratio" (temporal / frame_by_frame)}.
    A clean clip of another size or length is a UserError.
    """
    from inpaint.runtime.video.pipeline import run_clip

    row: dict = {"modes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            warping, truth = WarpingError(), TruthScores()
            cleans = _clean_frames(clean) if clean is not None else None

            def hook(index, rgb, out, hole, warping=warping, truth=truth, cleans=cleans):
                warping.add(rgb, out, hole)
                if cleans is not None:
                    c = next(cleans, None)
                    if c is None or c.shape != out.shape:
                        raise UserError(f"{clean}: the clean clip must have the clip's size and frame count "
                                        f"(frame {index}: {None if c is None else c.shape[:2]} vs {out.shape[:2]})")
                    truth.add(out, c, hole)

            result = run_clip(runner, clip, mask, Path(tmp) / (f"{mode}" + Path(clip).suffix), mode=mode,
                              hold_last=hold_last, infer_options=infer_options, frame_hook=hook)
            if cleans is not None and next(cleans, None) is not None:
                raise UserError(f"{clean}: the clean clip has more frames than {clip} ({result.frames})")
            row["modes"][mode] = {"warping_error": warping.median, "hole_psnr": truth.hole_psnr,
                                  "temporal_error": truth.temporal_error, "seconds": result.seconds,
                                  "inferred": result.inferred, **({"propagation": result.propagation} if mode == "propagate" else {})}
            row["frames"] = result.frames
    m = row["modes"]
    row["frame_by_frame"] = m.get("frames", {}).get("warping_error", float("nan"))
    row["temporal"] = m.get("temporal", {}).get("warping_error", float("nan"))
    row["ratio"] = row["temporal"] / row["frame_by_frame"] if row["frame_by_frame"] else float("nan")
    return row
