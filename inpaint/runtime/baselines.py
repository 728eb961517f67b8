"""Classical inpainting baselines for ``inpaint eval``: OpenCV's Telea and Navier-Stokes, and push-pull.

Each takes (H, W, 3) uint8 RGB and a (H, W) bool hole (True = remove) and returns uint8 RGB with the known
pixels untouched. No torch: ``inpaint eval`` of an ONNX model runs without it.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

#: neighbourhood radius of cv2.inpaint (OpenCV's documented example value)
OPENCV_RADIUS = 3


def _opencv(flag: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def run(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
        bgr = cv2.inpaint(np.ascontiguousarray(rgb[..., ::-1]), hole.astype(np.uint8) * 255, OPENCV_RADIUS, flag)
        return bgr[..., ::-1]

    return run


def push_pull_fill(image: np.ndarray, known: np.ndarray, levels: int | None = None) -> np.ndarray:
    """The push-pull pyramid fill (Gortler et al., 1996) in NumPy, as :mod:`inpaint.models.prefill` computes
    it in torch: 2x2 sums pushed down ``levels`` times (None: until a side is 1; an odd last row / column is
    left out of the sums), then OpenCV's bilinear x2 (half-pixel centres) back up; at each level a cell keeps
    its own mean in proportion to its known count (clipped to 1). A cell of the coarsest level with nothing
    known takes the mean of all known pixels.

    image (H, W, C) float, known (H, W) bool -> (H, W, C) float64, ``image`` where known.
    """
    k = known.astype(np.float64)[..., None]
    level = (image.astype(np.float64) * k, k)
    pyramid = []
    while (levels is None and min(level[1].shape[:2]) >= 2) or (levels is not None and len(pyramid) < levels):
        pyramid.append(level)
        h, w = (s // 2 * 2 for s in level[1].shape[:2])
        level = tuple(a[:h, :w].reshape(h // 2, 2, w // 2, 2, -1).sum((1, 3)) for a in level)
    colour, count = level
    mean = colour.sum((0, 1)) / max(count.sum(), 1)
    estimate = np.where(count > 0, colour / np.maximum(count, 1e-12), mean)
    for colour, count in reversed(pyramid):
        h, w = count.shape[:2]
        up = cv2.resize(estimate, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
        a = np.minimum(count, 1)
        estimate = colour / np.maximum(count, 1) * a + up * (1 - a)
    return np.where(known[..., None], image, estimate)


def push_pull(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """:func:`push_pull_fill` of a uint8 photo at its own size (MADF's prefill pads to its stride first)."""
    out = np.clip(np.round(push_pull_fill(rgb, ~hole)), 0, 255).astype(np.uint8)
    return np.where(hole[..., None], out, rgb)


BASELINES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "telea": _opencv(cv2.INPAINT_TELEA),
    "ns": _opencv(cv2.INPAINT_NS),
    "pushpull": push_pull,
}


def baseline(name: str, rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Run baseline ``name`` (a key of :data:`BASELINES`) on uint8 RGB ``rgb`` with ``hole`` True = remove."""
    return BASELINES[name](rgb, hole)
