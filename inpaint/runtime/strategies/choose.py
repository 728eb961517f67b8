"""``--strategy auto``: which strategy a photo gets, from its size, its hole and the memory available.

    full    when the photo's long side is at most AUTO_FULL_SIDE x the working size and it fits in memory;
    resize  when the crop windows around the holes would cover more than AUTO_RESIZE_COVER of the photo
            (holes spread over most of it: one view of the whole photo then beats several partial ones);
    crop    otherwise (with the plan made for the decision).

The thresholds come from the quality table in the README's large-photo section (PSNR in the holes of
crop, resize and full on 6 validation photos at 1x, 2x and 4x, ``benchmarks/large_photo_quality.py``).
"""

from __future__ import annotations

import numpy as np

from inpaint.errors import UserError
from inpaint.runtime.backends.base import Runner
from inpaint.runtime.strategies.full import fits_full
from inpaint.runtime.strategies.windows import Plan, Window, plan_windows

__all__ = ["STRATEGIES", "AUTO_FULL_SIDE", "AUTO_RESIZE_COVER", "check_strategy", "choose", "choose_strategy",
           "window_cover", "working_size"]

#: the names ``--strategy`` accepts
STRATEGIES = ("auto", "crop", "resize", "full")
#: auto runs ``full`` up to this many times the working size (long side): in the table full had the best
#: hole PSNR at 1x (480 px = 1.9 x 256) and lost to crop / resize at 2x (960 px = 3.75 x) and beyond
AUTO_FULL_SIDE = 2.0
#: auto runs ``resize`` when the crop windows would cover more than this fraction of the photo: in the
#: table crop won (hole PSNR +0.3 dB on average) on every set whose windows covered <= 0.28 of the photo
#: and resize on 3 of the 4 cases at >= 0.42; 0.35 lies in the unmeasured gap between them
AUTO_RESIZE_COVER = 0.35
#: working size used when a model file does not record its training size
DEFAULT_WORKING_SIZE = 256


def check_strategy(name: str) -> str:
    """``name`` if it is a strategy, else UserError listing them."""
    if name not in STRATEGIES:
        raise UserError(f"--strategy {name}: unknown strategy; use one of {', '.join(STRATEGIES)}")
    return name


def working_size(runner: Runner) -> int:
    """The model's working size: ``ModelInfo.train_size`` (the training size in the model metadata)."""
    info = runner.metadata
    return info.train_size if info is not None and info.train_size > 0 else DEFAULT_WORKING_SIZE


def window_cover(windows: list[Window], hw: tuple[int, int]) -> float:
    """Fraction of an (H, W) photo inside at least one of ``windows`` (exact, by coordinate compression)."""
    if not windows:
        return 0.0
    ys = np.unique([v for w in windows for v in (w.y0, w.y1)])
    xs = np.unique([v for w in windows for v in (w.x0, w.x1)])
    inside = np.zeros((len(ys) - 1, len(xs) - 1), bool)
    for w in windows:
        inside[np.searchsorted(ys, w.y0) : np.searchsorted(ys, w.y1), np.searchsorted(xs, w.x0) : np.searchsorted(xs, w.x1)] = True
    area = (np.diff(ys)[:, None] * np.diff(xs)[None, :] * inside).sum()
    return float(area) / (hw[0] * hw[1])


def choose(runner: Runner, hole: np.ndarray, available: float | None = None) -> tuple[str, Plan | None]:
    """(strategy, crop plan or None): what ``auto`` runs for one picture. hole: (H, W) bool, True = hole."""
    h, w = hole.shape
    size = working_size(runner)
    if max(h, w) <= AUTO_FULL_SIDE * size and fits_full(runner, (h, w), 1, available):
        return "full", None
    plan = plan_windows(np.ascontiguousarray(hole), size)
    if window_cover(plan.windows, (h, w)) > AUTO_RESIZE_COVER:
        return "resize", None
    return "crop", plan


def choose_strategy(runner: Runner, hole: np.ndarray, available: float | None = None) -> str:
    """The strategy ``auto`` runs for one picture (see :func:`choose`)."""
    return choose(runner, hole, available)[0]
