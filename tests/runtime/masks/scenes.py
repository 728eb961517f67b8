"""Synthetic scenes whose object mask is exact: a warm-coloured textured object on a cool textured
background (different colour distributions, both with texture), and tiny clips of it moving, leaving the
frame and coming back. Frames (H, W, 3) uint8 RGB, masks (H, W) bool, True = object."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np


def texture(h: int, w: int, seed: int, low: tuple[int, int, int], high: tuple[int, int, int]) -> np.ndarray:
    """Smooth random texture (blur sigma 2 px) between two colours: (h, w, 3) uint8."""
    noise = cv2.GaussianBlur(np.random.default_rng(seed).random((h, w)).astype(np.float32), (0, 0), 2)
    t = (noise - noise.min()) / (noise.max() - noise.min() + 1e-6)
    lo, hi = np.array(low, np.float32), np.array(high, np.float32)
    return (lo + t[:, :, None] * (hi - lo)).round().astype(np.uint8)


def background(h: int, w: int, seed: int = 0) -> np.ndarray:
    return texture(h, w, seed, (20, 90, 60), (90, 170, 200))  # greens and blues


def object_texture(h: int, w: int, seed: int = 1) -> np.ndarray:
    return texture(h, w, seed, (150, 40, 10), (250, 150, 60))  # reds and oranges


def blob(size: tuple[int, int], centre: tuple[float, float], radius: float) -> np.ndarray:
    """An ellipse with an arm (not convex, so a box is not the answer): (h, w) bool."""
    m = np.zeros(size, np.uint8)
    cx, cy = centre
    cv2.ellipse(m, (int(round(cx)), int(round(cy))), (int(radius), int(radius * 0.75)), 0, 0, 360, 1, -1)
    cv2.rectangle(m, (int(cx), int(cy - radius * 0.15)), (int(cx + radius * 1.4), int(cy + radius * 0.15)), 1, -1)
    return m.astype(bool)


def photo(size: tuple[int, int] = (120, 160), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rgb, truth): the object (centre at 0.4 of the width, radius a quarter of the height) on the background."""
    h, w = size
    truth = blob(size, (0.4 * w, 0.5 * h), 0.25 * h)
    rgb = np.where(truth[:, :, None], object_texture(h, w, seed + 1), background(h, w, seed))
    return rgb, truth


def moving(n: int = 24, size: tuple[int, int] = (72, 96), turn: int = 14, speed: int = 8) -> tuple[list, list]:
    """The object moving right by ``speed`` px a frame until frame ``turn``, then back left: it leaves the
    frame on the right (frames 11..17 of the default hold no object) and comes back; the background is still."""
    h, w = size
    bg, tex = background(h, w, 5), object_texture(h, w, 6)
    frames, truths = [], []
    for i in range(n):
        cx = 0.3 * w + speed * (i if i <= turn else 2 * turn - i)
        truth = blob(size, (cx, 0.5 * h), 0.22 * h)
        shifted = np.roll(tex, int(round(cx)), axis=1)  # the texture moves with the object
        frames.append(np.where(truth[:, :, None], shifted, bg))
        truths.append(truth)
    return frames, truths


def write_lossless(path: Path, frames: list[np.ndarray], rate: int = 25, rotation: int = 0) -> None:
    """frames -> an FFV1 (lossless) mkv, so the decoded pixels are the ones written; rotation: display matrix."""
    import av

    out = av.open(str(path), "w")
    s = out.add_stream("ffv1", rate=rate)
    s.height, s.width = frames[0].shape[:2]
    s.pix_fmt = "bgr0"
    s.codec_context.time_base = Fraction(1, rate)
    if rotation:
        s.set_display_rotation(rotation)
    for i, rgb in enumerate(frames):
        f = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        f.pts = i
        for p in s.encode(f):
            out.mux(p)
    for p in s.encode():
        out.mux(p)
    out.close()


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return 1.0 if union == 0 else float((a & b).sum() / union)
