"""The texture stage: structure from the network, texture from the known part of the same picture.

    out = texture_fill(image, hole, fill)                      # at the network's working size
    band += window_detail(detail, rows, cols)                  # full resolution, where a window was shrunk

Step 1, at the size the network ran at (a window shrunk to the working size, or the whole picture for
``--strategy full``): :func:`.match.match_cells` pairs every cell of the hole with a known cell whose patch
looks alike *in the network's fill*. The hole becomes the fill's low-pass (:data:`LOWPASS_SIGMA`, the
structure) plus the matched cells' residual ``image - lowpass(image)`` (the texture; the low-pass of the known
pixels alone, a normalised convolution, so the object being removed never leaks in), pasted with
:func:`.aggregate.aggregate` and scaled by ``strength``.

Step 2, HiFill's contextual residual aggregation (Yi et al., CVPR 2020), only where a window was shrunk:
the full-resolution residual ``photo - enlarge(shrink(photo))`` of the matched known cells (the detail the
working size cannot hold) is pasted with the same matches at full resolution and added to the enlarged fill.
Known pixels are never written (the callers paste hole pixels only).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from inpaint.runtime.texture.aggregate import Source, aggregate
from inpaint.runtime.texture.match import Matches, match_cells

__all__ = ["LOWPASS_SIGMA", "STRENGTH", "texture_fill", "lowpass_known", "WindowDetail", "window_detail"]

#: Gaussian sigma (pixels at the working size) that splits structure (below) from texture (above); set by
#: benchmarks/texture.py (docs/texture.md: detail and hole PSNR of sigma 1.0 and 1.5)
LOWPASS_SIGMA = 1.0
#: step 2's amplitude relative to step 1's: the detail above the working size, copied at step 1's strength,
#: overshoots the photo's own (detail 0.95-1.2 on the 4x and >= 4 MP sets); set by benchmarks/texture.py
FULL_RESOLUTION_SHARE = 0.5
#: match the texture's strength too (match.ENERGY_WEIGHT), not only the fill's look
ENERGY_MATCH = True
#: amplitude of the copied texture (1 = as strong as in the key cells); set by benchmarks/texture.py: the
#: copied texture is not the hidden one, so every bit of it costs hole PSNR (docs/texture.md)
STRENGTH = 0.7


def lowpass_known(image: np.ndarray, known: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian low-pass of the known pixels only (normalised convolution): (h, w, C) float32, known (h, w) bool.

    Where no known pixel lies within reach the result is 0 (those pixels are never read as texture).
    """
    k = known.astype(np.float32)
    num = cv2.GaussianBlur(image * k[..., None], (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)
    den = cv2.GaussianBlur(k, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)[..., None]
    return np.divide(num, den, out=np.zeros_like(num), where=den > 1e-6)


def _padded(x: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    return cv2.copyMakeBorder(x, 0, hw[0] - x.shape[0], 0, hw[1] - x.shape[1], cv2.BORDER_REFLECT_101)


def texture_fill(image: np.ndarray, hole: np.ndarray, fill: np.ndarray, *, strength: float = STRENGTH,
                 sigma: float = LOWPASS_SIGMA) -> tuple[np.ndarray, Matches | None]:
    """Step 1 (module docstring).

    image: (h, w, 3) float32 in [0, 1], the picture the network saw (its hole pixels are never read).
    hole: (h, w) bool, True = hole. fill: (h, w, 3) float32 in [0, 1], the network's composited output.
    Returns (out, matches): out (h, w, 3) float32, equal to ``fill`` outside the hole (unclipped inside:
    the caller rounds and clips); matches None when there is nothing to copy (no key cell, tiny picture).
    """
    if strength == 0:
        return fill, None
    known = ~hole
    residual = (image - lowpass_known(image, known, sigma)) * known[..., None]
    matches = match_cells(fill, hole, (residual * residual).sum(-1) if ENERGY_MATCH else None)
    if matches is None or not matches.any:
        return fill, None
    g, (rh, rw) = matches.g, matches.rate
    source_map = _padded(np.ascontiguousarray(residual, np.float32), (g * rh, g * rw))

    def source(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        return source_map[np.ix_(r, c)]

    # the whole (padded) picture, its edges reflected: what the exported form computes (models/texture.py);
    # only the query cells' blocks cost anything
    hp, wp = source_map.shape[:2]
    texture, gain = aggregate(matches, source, (0, hp), (0, wp), (hp, wp), widen=False)
    h, w = hole.shape
    texture = texture[:h, :w]
    matches = replace(matches, gain=np.ascontiguousarray(gain[:h, :w]))
    rows, cols = np.flatnonzero(hole.any(1)), np.flatnonzero(hole.any(0))
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    texture = texture[r0:r1, c0:c1]
    structure = _structure(fill, sigma)[r0:r1, c0:c1]
    out = np.array(fill, np.float32, copy=True)
    box = hole[r0:r1, c0:c1]
    out[r0:r1, c0:c1][box] = structure[box] + np.float32(strength) * texture[box]
    return out, matches


def _structure(fill: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(np.ascontiguousarray(fill, np.float32), (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)


@dataclass
class WindowDetail:
    """What step 2 needs for one shrunk window: its full-resolution pixels and the shrunk picture the
    network saw. pixels: (H, W, 3) uint8/uint16 (a view into the photo); small: (h, w, 3) float32 in [0, 1];
    matches: step 1's; strength: as in step 1; interpolation: the OpenCV flag that enlarges the window."""

    pixels: np.ndarray
    small: np.ndarray
    matches: Matches
    strength: float
    interpolation: int

    @property
    def scale(self) -> tuple[float, float]:
        return self.pixels.shape[0] / self.small.shape[0], self.pixels.shape[1] / self.small.shape[1]

    def source(self) -> Source:
        """Residual ``photo - enlarge(small)`` at integer full-resolution positions (the detail above the working size)."""
        top = np.float32(np.iinfo(self.pixels.dtype).max)
        sy, sx = self.scale

        def read(r: np.ndarray, c: np.ndarray) -> np.ndarray:
            if r[-1] - r[0] == r.size - 1 and c[-1] - c[0] == c.size - 1:  # a block inside the window: slices
                r0, c0 = int(r[0]), int(c[0])
                photo = self.pixels[r0 : r0 + r.size, c0 : c0 + c.size].astype(np.float32) / top
                # cv2.resize's sample positions (resample.enlarge_region): src = (dst + 0.5) / scale - 0.5
                matrix = np.array([[1 / sx, 0.0, (c0 + 0.5) / sx - 0.5], [0.0, 1 / sy, (r0 + 0.5) / sy - 0.5]])
                low = cv2.warpAffine(self.small, matrix, (c.size, r.size), flags=self.interpolation | cv2.WARP_INVERSE_MAP,
                                     borderMode=cv2.BORDER_REPLICATE)
                return photo - low
            photo = self.pixels[np.ix_(r, c)].astype(np.float32) / top  # clamped at the window's edge
            mx = np.broadcast_to(((c + 0.5) / sx - 0.5).astype(np.float32)[None, :], (r.size, c.size))
            my = np.broadcast_to(((r + 0.5) / sy - 0.5).astype(np.float32)[:, None], (r.size, c.size))
            low = cv2.remap(self.small, np.ascontiguousarray(mx), np.ascontiguousarray(my), self.interpolation,
                            borderMode=cv2.BORDER_REPLICATE)
            return photo - low

        return read

    def gain(self, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
        """Step 1's gain map (matching size) enlarged bilinearly to rows x cols of the window (cv2.resize's samples)."""
        sy, sx = self.scale
        (r0, r1), (c0, c1) = rows, cols
        matrix = np.array([[1 / sx, 0.0, (c0 + 0.5) / sx - 0.5], [0.0, 1 / sy, (r0 + 0.5) / sy - 0.5]])
        return cv2.warpAffine(self.matches.gain, matrix, (c1 - c0, r1 - r0),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)


def window_detail(detail: WindowDetail, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    """Step 2 on rows x cols of the window: (rows, cols, 3) float32 to add to the enlarged fill, at
    ``strength * FULL_RESOLUTION_SHARE``."""
    y, _ = aggregate(detail.matches, detail.source(), rows, cols, detail.pixels.shape[:2], scale=detail.scale,
                     gain=detail.gain)
    return y * np.float32(detail.strength * FULL_RESOLUTION_SHARE)
