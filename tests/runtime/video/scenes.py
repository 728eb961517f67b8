"""Synthetic scenes for the steadying tests and the benchmark: a fixed camera and a panning one.

Each returns (frames, holes): frames (H, W, 3) uint8 RGB, holes (H, W) bool. An object (a grey disc)
sits in the scene and the hole covers it; in the panning clip the object moves with the scene.
"""

from __future__ import annotations

import cv2
import numpy as np


def _texture(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.random((h, w, 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 3)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return (smooth * 255).astype(np.uint8)


def fixed_camera(n: int, size: tuple[int, int], seed: int = 0, noise: float = 2.0):
    """A still scene with sensor noise (std ``noise`` levels), a disc in the middle, and a white square
    crossing the top eighth of the frame (far from the disc: motion elsewhere, which a codec keeps while it
    flattens still noise, and which changes a frame-by-frame fill through the network's wide view)."""
    h, w = size
    base = _texture(h, w, seed)
    cv2.circle(base, (w // 2, h // 2), min(h, w) // 8, (128, 128, 128), -1)
    hole = np.zeros(size, np.uint8)
    cv2.circle(hole, (w // 2, h // 2), min(h, w) // 8 + 2, 1, -1)
    rng = np.random.default_rng(seed + 1)
    side = max(2, h // 10)
    frames = []
    for t in range(n):
        f = np.clip(base + rng.normal(0, noise, base.shape), 0, 255).astype(np.uint8)
        x0 = (t * max(1, w // 20)) % max(1, w - side)
        f[1 : 1 + side, x0 : x0 + side] = 255
        frames.append(f)
    return frames, [hole.astype(bool)] * n


def panning_camera(n: int, size: tuple[int, int], seed: int = 0, step: tuple[int, int] = (2, 1)):
    """The camera pans by ``step`` (dx, dy) px a frame over a textured scene; the disc is part of the scene."""
    h, w = size
    dx, dy = step
    big_h, big_w = h + abs(dy) * n + 1, w + abs(dx) * n + 1
    scene = _texture(big_h, big_w, seed)
    cx, cy, r = big_w // 2, big_h // 2, min(h, w) // 8
    cv2.circle(scene, (cx, cy), r, (128, 128, 128), -1)
    frames, holes = [], []
    for t in range(n):
        x0 = (big_w - w) // 2 - (n // 2 - t) * dx
        y0 = (big_h - h) // 2 - (n // 2 - t) * dy
        frames.append(np.ascontiguousarray(scene[y0 : y0 + h, x0 : x0 + w]))
        hole = np.zeros(size, np.uint8)
        cv2.circle(hole, (cx - x0, cy - y0), r + 2, 1, -1)
        holes.append(hole.astype(bool))
    return frames, holes


def cut(n: int, size: tuple[int, int]):
    """Half the frames from one fixed scene, half from a very different (darker) one."""
    a, ha = fixed_camera(n // 2, size, seed=3)
    b, hb = fixed_camera(n - n // 2, size, seed=4)
    b = [(f // 4).astype(np.uint8) for f in b]
    return a + b, ha + hb
