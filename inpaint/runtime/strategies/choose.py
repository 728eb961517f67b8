"""``--strategy auto``: which strategy a photo gets, from its size, its hole and the memory available.

    full    when the photo's long side is at most AUTO_FULL_SIDE x the working size, the hole is no thicker than
            AUTO_FULL_RADIUS x the working size (its inscribed radius: the largest distance from a hole pixel
            to the known region) and it fits in memory;
    resize  when the crop windows around the holes would cover more than AUTO_RESIZE_COVER of the photo
            (holes spread over most of it: one view of the whole photo then beats several partial ones);
    crop    otherwise (with the plan made for the decision).

AUTO_RESIZE_COVER comes from the quality table in the README's large-photo section (hole PSNR of crop and resize
on enlarged validation photos, ``benchmarks/large_photo_quality.py``); AUTO_FULL_SIDE and AUTO_FULL_RADIUS from
``benchmarks/auto_strategy.py`` (docs/texture.md): real photos of real detail (the validation photos at 1x and
their >= 4 MP originals shrunk to 1536 and 2048 px), strokes and object holes, the texture stage on.
"""

from __future__ import annotations

import cv2
import numpy as np

from inpaint.errors import UserError
from inpaint.runtime.backends.base import Runner
from inpaint.runtime.strategies.full import fits_full
from inpaint.runtime.strategies.windows import Plan, Window, plan_windows

__all__ = ["STRATEGIES", "AUTO_FULL_SIDE", "AUTO_FULL_RADIUS", "AUTO_RESIZE_COVER", "check_strategy", "choose",
           "choose_strategy", "hole_radius", "window_cover", "working_size"]

#: the names ``--strategy`` accepts
STRATEGIES = ("auto", "crop", "resize", "full")
#: auto runs ``full`` up to this many times the working size (long side) ... (docs/texture.md: allowing 4x, i.e.
#: full on 1024 px photos with thin holes, gained 0.05 dB on the strokes at 1x for up to 11x the time on them)
AUTO_FULL_SIDE = 2.0
#: ... and only for holes whose inscribed radius is at most this fraction of the working size (96 px at 256): full
#: lost to crop / resize on thick holes at every size (objects at 1x: 17.72 vs 18.16 dB; every case at 1536 and
#: 2048 px); with this limit auto gains 0.06 dB on the objects at 1x and stays >= 0.16 dB above full on every
#: set. The training masks' inscribed radius at 256 px: median 44, 90th percentile 65 px
AUTO_FULL_RADIUS = 0.375
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


def hole_radius(hole: np.ndarray) -> float:
    """Inscribed radius of the hole (pixels): the largest Euclidean distance from a hole pixel to the known
    region (OpenCV's distance transform, 5 x 5 mask); the picture's border does not count as known."""
    padded = cv2.copyMakeBorder(hole.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    return float(cv2.distanceTransform(padded, cv2.DIST_L2, 5).max())


def choose(runner: Runner, hole: np.ndarray, available: float | None = None) -> tuple[str, Plan | None]:
    """(strategy, crop plan or None): what ``auto`` runs for one picture. hole: (H, W) bool, True = hole."""
    h, w = hole.shape
    size = working_size(runner)
    if (max(h, w) <= AUTO_FULL_SIDE * size and hole_radius(hole) <= AUTO_FULL_RADIUS * size
            and fits_full(runner, (h, w), 1, available)):
        return "full", None
    plan = plan_windows(np.ascontiguousarray(hole), size)
    if window_cover(plan.windows, (h, w)) > AUTO_RESIZE_COVER:
        return "resize", None
    return "crop", plan


def choose_strategy(runner: Runner, hole: np.ndarray, available: float | None = None) -> str:
    """The strategy ``auto`` runs for one picture (see :func:`choose`)."""
    return choose(runner, hole, available)[0]
