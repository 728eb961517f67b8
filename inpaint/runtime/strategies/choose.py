"""``--strategy auto``: which strategy a photo gets, from its size, its hole and the memory available.

    full    when the photo's long side is at most AUTO_FULL_SIDE x the working size and it fits in memory;
    resize  when the hole covers more than AUTO_RESIZE_HOLE of the photo;
    crop    otherwise.

The thresholds come from the quality table in the README's large-photo section (PSNR in the holes of
crop, resize and full on the validation photos at 1x, 2x and 4x).
"""

from __future__ import annotations

import numpy as np

from inpaint.errors import UserError
from inpaint.runtime.backends.base import Runner
from inpaint.runtime.strategies.full import fits_full

__all__ = ["STRATEGIES", "AUTO_FULL_SIDE", "AUTO_RESIZE_HOLE", "check_strategy", "choose_strategy", "working_size"]

#: the names ``--strategy`` accepts
STRATEGIES = ("auto", "crop", "resize", "full")
#: auto runs ``full`` up to this many times the working size (long side)
AUTO_FULL_SIDE = 2.0
#: auto runs ``resize`` above this hole fraction
AUTO_RESIZE_HOLE = 0.5
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


def choose_strategy(runner: Runner, hole: np.ndarray, available: float | None = None) -> str:
    """The strategy ``auto`` runs for one picture. hole: (H, W) bool, True = hole."""
    h, w = hole.shape
    if max(h, w) <= AUTO_FULL_SIDE * working_size(runner) and fits_full(runner, (h, w), 1, available):
        return "full"
    if np.count_nonzero(hole) > AUTO_RESIZE_HOLE * hole.size:
        return "resize"
    return "crop"
