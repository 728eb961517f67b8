"""Paste the texture of the matched key cells into a region: the ``MaskedAttentionAggregate`` operator's
algebra for top-1 scores, computed only where it is needed, at any resolution, with variance-preserving blending.

    y = aggregate(matches, source, rows=(t0, t1), cols=(u0, u1), scale=(s_h, s_w))   # (t1-t0, u1-u0, C) float32

With one-hot scores (query ``q`` -> key ``k``) the operator's output at pixel ``t`` is the mean over the four
query cells whose ``2r`` patches cover ``t`` of ``x[t + (k - q) * r]`` (a whole number of cells of shift, the
source read with edge replication), each weighted 1/4 (:mod:`inpaint.ops.attention_aggregate.contract`).
:func:`aggregate_raw` computes exactly that (the tests compare it with the operator's NumPy kernel), for the
pixels of one region only, and at ``scale`` times the matching resolution: pixel ``T`` of the larger picture
sits at ``(T + 0.5) / s - 0.5`` on the matching grid and reads ``T + round((k - q) * r * s)`` (HiFill's
contextual residual aggregation: attention computed small, applied to full-resolution residuals).

Averaging the patches of different keys would blur the texture they carry: four independent textures
averaged keep half their amplitude. :func:`aggregate` takes the mean of the covering copies and restores the
energy the averaging lost, measured locally: ``gain = sqrt(mean of the copies' energies / energy of their
mean)`` (variance-preserving blending, Heitz & Neyret 2018, "High-performance by-example noise using a
histogram-preserving blending operator", with the correlation measured instead of assumed zero). Copies that
agree (a coherent copy, or equal content at different shifts) keep gain 1, so an exact copy stays exact; four
independent ones get 2. In the operator's terms: mean = op(x, S) / op(1, S), energies = op(x^2, S) / op(1, S).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from inpaint.ops.attention_aggregate.contract import OVERLAP_DIVISOR
from inpaint.runtime.texture.match import Matches

__all__ = ["aggregate", "aggregate_raw", "Source"]

#: the largest energy gain: four independent copies averaged keep 1/2 of their amplitude (1/4 of their energy)
MAX_GAIN = 2.0
#: ``source(rows, cols) -> (n, C) float32``: the values to copy at integer pixel positions (already clamped)
Source = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _covering(t: np.ndarray, rate: int, pad: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Matching-grid cell indices (i_a, i_a + 1) of the two query patches covering output pixels ``t``."""
    x = (t + 0.5) / scale - 0.5  # matching-grid coordinate of the pixel centre
    i_b = np.floor((x + 0.5 + pad) / rate).astype(np.int64)
    return i_b - 1, i_b


def _positions(span: tuple[int, int], rate: int, g: int, scale: float) -> np.ndarray:
    """Output pixel indices of ``span``; at the matching size an odd rate leaves the grid's last row (column)
    to the repetition of the one before it (the operator's border rule, ``contract.py``)."""
    t = np.arange(span[0], span[1])
    if scale == 1.0 and rate % 2:
        t = np.minimum(t, g * rate - 2)
    return t


def _contributions(m: Matches, rows: tuple[int, int], cols: tuple[int, int], scale: tuple[float, float]):
    """For each of the 4 covering queries: (valid (nr, nc) bool, shift_rows, shift_cols (nr, nc) int64)."""
    (ph, pw), (rh, rw), g = m.pad, m.rate, m.g
    t = _positions(rows, rh, g, scale[0])
    u = _positions(cols, rw, g, scale[1])
    out = []
    for i in _covering(t, rh, ph, scale[0]):
        for j in _covering(u, rw, pw, scale[1]):
            ok = ((i >= 0) & (i < g))[:, None] & ((j >= 0) & (j < g))[None, :]
            q = np.clip(i, 0, g - 1)[:, None] * g + np.clip(j, 0, g - 1)[None, :]
            k = m.key[q]
            ok &= k >= 0
            di = np.rint((k // g - np.clip(i, 0, g - 1)[:, None]) * (rh * scale[0])).astype(np.int64)
            dj = np.rint((k % g - np.clip(j, 0, g - 1)[None, :]) * (rw * scale[1])).astype(np.int64)
            out.append((ok, di, dj))
    return out


def _sum(m: Matches, source: Source, rows, cols, scale, bounds, channels, squares: bool = False):
    """Sum of the covering queries' copies (rows, cols, C), with squares: also the sum of their squares
    summed over channels (rows, cols) and the number of copies (rows, cols)."""
    t = _positions(rows, m.rate[0], m.g, scale[0])[:, None]
    u = _positions(cols, m.rate[1], m.g, scale[1])[None, :]
    shape = (rows[1] - rows[0], cols[1] - cols[0])
    total = np.zeros((*shape, channels), np.float32)
    energy = np.zeros(shape, np.float32) if squares else None
    count = np.zeros(shape, np.float32)
    for ok, di, dj in _contributions(m, rows, cols, scale):
        if not ok.any():
            continue
        sr = np.clip(t + di, 0, bounds[0] - 1)[ok]
        sc = np.clip(u + dj, 0, bounds[1] - 1)[ok]
        values = source(sr, sc)
        total[ok] += values
        count[ok] += 1
        if squares:
            energy[ok] += (values * values).sum(-1)
    return total, energy, count


def aggregate_raw(m: Matches, source: Source, rows: tuple[int, int], cols: tuple[int, int],
                  bounds: tuple[int, int], channels: int = 3, scale: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """The operator's output (sum of the covering queries' copies / 4) on rows x cols.

    bounds: (H, W) of the source picture (reads are clamped into it: the operator's edge replication).
    Returns (rows, cols, channels) float32.
    """
    total, _, _ = _sum(m, source, rows, cols, scale, bounds, channels)
    return total / np.float32(OVERLAP_DIVISOR)


def aggregate(m: Matches, source: Source, rows: tuple[int, int], cols: tuple[int, int],
              bounds: tuple[int, int], channels: int = 3, scale: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """The mean of the covering copies, its energy restored (module docstring); 0 where no query covers.

    gain = sqrt(G * mean of the copies' squares / G * square of their mean), clipped to [1, MAX_GAIN], with G a
    Gaussian of half a cell (the energies are local averages: per pixel the ratio would undo the blend).
    Computed on rows x cols widened by 2 sigma so that neighbouring regions (bands) agree at their seams.
    Returns (rows, cols, channels) float32.
    """
    sigma = 0.5 * min(m.rate[0] * scale[0], m.rate[1] * scale[1])
    margin = int(np.ceil(2 * sigma))
    lo_r, lo_c = max(0, rows[0] - margin), max(0, cols[0] - margin)
    total, energy, count = _sum(m, source, (lo_r, rows[1] + margin), (lo_c, cols[1] + margin), scale, bounds,
                                channels, squares=True)
    mean = np.divide(total, count[..., None], out=np.zeros_like(total), where=count[..., None] > 0)
    each = np.divide(energy, count, out=np.zeros_like(energy), where=count > 0)
    blend = (mean * mean).sum(-1)
    blur = lambda x: cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)  # noqa: E731
    gain = np.sqrt(np.divide(blur(each), blur(blend), out=np.ones_like(each), where=blur(blend) > 1e-12))
    np.clip(gain, 1.0, MAX_GAIN, out=gain)
    out = mean * gain[..., None]
    r0, c0 = rows[0] - lo_r, cols[0] - lo_c
    return np.ascontiguousarray(out[r0 : r0 + rows[1] - rows[0], c0 : c0 + cols[1] - cols[0]])
