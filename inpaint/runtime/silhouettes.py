"""Object-shaped holes for evaluation: random silhouettes (a blob body with a few limbs), one solid object each.

    hole = object_silhouette((h, w), rng, ratio=0.15)      # (h, w) bool, True = hole, one connected component

What object removal leaves: one compact shape of real object size (a person, a bench, a sign), unlike the
free-form strokes of the training masks spread over the picture. The body is a closed contour with radius
``r(t) = 1 + sum_k a_k cos(k t + phi_k)`` (k = 1..5, a_k uniform in [0, 0.25 / k]: smooth, never self-crossing
since sum a_k < 0.6), stretched by a random aspect ratio and rotated; 1-3 limbs are ellipses from the body's
centre past its edge (arms, legs, a pole). The shape is scaled to the asked ratio of the picture's area and
placed fully inside it, :data:`MARGIN` pixels from its border.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["object_silhouette", "MARGIN"]

#: pixels between the silhouette and the picture's border
MARGIN = 4
#: contour points of the body
_POINTS = 256
#: drawing canvas of the unit shape (pixels a side), then scaled
_CANVAS = 512


def _unit_shape(rng: np.random.Generator) -> np.ndarray:
    """(CANVAS, CANVAS) uint8 mask of one silhouette, centred, body radius about CANVAS / 6."""
    t = np.linspace(0, 2 * np.pi, _POINTS, endpoint=False)
    r = np.ones_like(t)
    for k in range(1, 6):
        r += rng.uniform(0, 0.25 / k) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    aspect = rng.uniform(0.55, 1.8)
    angle = rng.uniform(0, np.pi)
    base = _CANVAS / 6
    x, y = base * r * np.cos(t) * np.sqrt(aspect), base * r * np.sin(t) / np.sqrt(aspect)
    xr = x * np.cos(angle) - y * np.sin(angle) + _CANVAS / 2
    yr = x * np.sin(angle) + y * np.cos(angle) + _CANVAS / 2
    canvas = np.zeros((_CANVAS, _CANVAS), np.uint8)
    cv2.fillPoly(canvas, [np.stack([xr, yr], 1).round().astype(np.int32)], 1)
    for _ in range(int(rng.integers(1, 4))):
        direction = rng.uniform(0, 2 * np.pi)
        length = base * rng.uniform(0.9, 1.7)
        centre = (_CANVAS / 2 + 0.5 * length * np.cos(direction), _CANVAS / 2 + 0.5 * length * np.sin(direction))
        axes = (int(length * 0.6), int(base * rng.uniform(0.12, 0.3)))
        cv2.ellipse(canvas, (int(centre[0]), int(centre[1])), axes, float(np.degrees(direction)), 0, 360, 1, -1)
    return canvas


def object_silhouette(hw: tuple[int, int], rng: np.random.Generator, ratio: float) -> np.ndarray:
    """One silhouette covering about ``ratio`` of an (h, w) picture, inside it. Returns (h, w) bool, True = hole.

    The shape is scaled down when it cannot fit at that ratio; raises ValueError for pictures under 16 px.
    """
    h, w = hw
    if min(h, w) < 4 * MARGIN:
        raise ValueError(f"a {w}x{h} picture is too small for an object hole")
    shape = _unit_shape(rng)
    ys, xs = np.nonzero(shape)
    shape = shape[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    scale = np.sqrt(ratio * h * w / shape.sum())
    scale = min(scale, (h - 2 * MARGIN) / shape.shape[0], (w - 2 * MARGIN) / shape.shape[1])
    sh, sw = max(1, int(shape.shape[0] * scale)), max(1, int(shape.shape[1] * scale))
    small = cv2.resize(shape, (sw, sh), interpolation=cv2.INTER_NEAREST)
    y0 = int(rng.integers(MARGIN, h - MARGIN - sh + 1))
    x0 = int(rng.integers(MARGIN, w - MARGIN - sw + 1))
    hole = np.zeros((h, w), bool)
    hole[y0 : y0 + sh, x0 : x0 + sw] = small > 0
    return hole
