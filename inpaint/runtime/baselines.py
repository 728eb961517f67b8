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


def push_pull(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The push-pull pyramid fill (Gortler et al., 1996) at the photo's own size, as MADF's
    ``prefill="pushpull"`` computes it (:mod:`inpaint.models.prefill`, which pads to the network's stride):
    2x2 sums down to one row or column, then bilinear x2 (OpenCV's, half-pixel centres) back up; at each level
    a cell keeps its own mean in proportion to its known count (clipped to 1)."""
    known = ~hole
    k = known.astype(np.float64)[..., None]
    level = (rgb.astype(np.float64) * k, k)
    pyramid = []
    while min(level[1].shape[:2]) >= 2:
        pyramid.append(level)
        h, w = (s // 2 * 2 for s in level[1].shape[:2])  # an odd last row / column is left out of the sums
        level = tuple(a[:h, :w].reshape(h // 2, 2, w // 2, 2, -1).sum((1, 3)) for a in level)
    colour, count = level
    mean = colour.sum((0, 1)) / max(count.sum(), 1)
    estimate = np.where(count > 0, colour / np.maximum(count, 1e-12), mean)
    for colour, count in reversed(pyramid):
        h, w = count.shape[:2]
        up = cv2.resize(estimate, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
        a = np.minimum(count, 1)
        estimate = colour / np.maximum(count, 1) * a + up * (1 - a)
    out = np.clip(np.round(estimate), 0, 255).astype(np.uint8)
    return np.where(known[..., None], rgb, out)


BASELINES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "telea": _opencv(cv2.INPAINT_TELEA),
    "ns": _opencv(cv2.INPAINT_NS),
    "pushpull": push_pull,
}


def baseline(name: str, rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Run baseline ``name`` (a key of :data:`BASELINES`) on uint8 RGB ``rgb`` with ``hole`` True = remove."""
    return BASELINES[name](rgb, hole)
