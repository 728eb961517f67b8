"""Paste the texture of the matched key cells into a region: the ``MaskedAttentionAggregate`` operator's
algebra for top-1 scores, computed only where it is needed, at any resolution, with energy-restoring blending.

    y, gain = aggregate(matches, source, rows=(t0, t1), cols=(u0, u1), bounds=(H, W))   # at the matching size
    y, _ = aggregate(matches, source, rows, cols, bounds, scale=(s_h, s_w), gain=gain_of)  # s times larger

With one-hot scores (query ``q`` -> key ``k``) the operator's output at pixel ``t`` is the sum over the (up to
four) query cells whose ``2r`` patches cover ``t`` of ``x[t + (k - q) * r]`` (a whole number of cells of shift,
the source read with edge replication), divided by 4 (:mod:`inpaint.ops.attention_aggregate.contract`).
:func:`aggregate_raw` computes exactly that (the tests compare it with the operator's NumPy kernel), block by
block (one slice per query cell), for one region only, and at ``scale`` times the matching resolution: pixel
``T`` of the larger picture sits at ``(T + 0.5) / s - 0.5`` on the matching grid and reads
``T + round((k - q) * r * s)`` (HiFill's contextual residual aggregation: attention computed small, applied to
full-resolution residuals).

Averaging the patches of different keys would blur the texture they carry: four independent textures
averaged keep half their amplitude. :func:`aggregate` takes the mean of the covering copies and restores the
energy the averaging lost, measured locally: ``gain = sqrt(mean of the copies' energies / energy of their
mean)`` (variance-preserving blending, Heitz & Neyret 2018, "High-performance by-example noise using a
histogram-preserving blending operator", with the correlation measured instead of assumed zero). Copies that
agree (a coherent copy, or equal content at different shifts) keep gain 1, so an exact copy stays exact; four
independent ones get 2. In the operator's terms: mean = op(x, S) / op(1, S), energies = op(x^2, S) / op(1, S).
The gain depends on which copies overlap, not on the resolution: the full-resolution pass reuses the one
measured at the matching size (enlarged), instead of measuring it again on millions of pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from inpaint.ops.attention_aggregate.contract import OVERLAP_DIVISOR
from inpaint.runtime.texture.match import Matches

__all__ = ["aggregate", "aggregate_raw", "Source", "MAX_GAIN"]

#: the largest energy gain: four independent copies averaged keep 1/2 of their amplitude (1/4 of their energy)
MAX_GAIN = 2.0
#: ``source(rows, cols) -> (len(rows), len(cols), C) float32``: the values to copy on the grid of the given
#: (already clamped) integer row and column indices
Source = Callable[[np.ndarray, np.ndarray], np.ndarray]
#: ``gain(rows, cols) -> (rows[1] - rows[0], cols[1] - cols[0]) float32``: a gain map measured at the matching size
Gain = Callable[[tuple[int, int], tuple[int, int]], np.ndarray]


def _span(i: int, rate: int, pad: int, scale: float) -> tuple[int, int]:
    """Output rows [a, b) covered by query row ``i``'s patch: matching rows [i r - p, i r - p + 2r) at scale s."""
    lo, hi = i * rate - pad, i * rate - pad + 2 * rate
    if scale == 1.0:
        return lo, hi
    return math.ceil(scale * lo - 0.5), math.ceil(scale * hi - 0.5)


def _sum(m: Matches, source: Source, rows, cols, scale, bounds, channels, squares: bool = False):
    """Per query cell covering the region: its key's block added in. Returns (total (nr, nc, C), energy (nr, nc)
    or None: the copies' squares summed over channels, count (nr, nc): how many copies each pixel got)."""
    (ph, pw), (rh, rw), g = m.pad, m.rate, m.g
    nr, nc = rows[1] - rows[0], cols[1] - cols[0]
    total = np.zeros((nr, nc, channels), np.float32)
    energy = np.zeros((nr, nc), np.float32) if squares else None
    count = np.zeros((nr, nc), np.float32)
    spans_r = [_span(i, rh, ph, scale[0]) for i in range(g)]
    spans_c = [_span(j, rw, pw, scale[1]) for j in range(g)]
    qi_ok = [i for i, (a, b) in enumerate(spans_r) if a < rows[1] and b > rows[0]]
    qj_ok = [j for j, (a, b) in enumerate(spans_c) if a < cols[1] and b > cols[0]]
    for i in qi_ok:
        a, b = max(spans_r[i][0], rows[0]), min(spans_r[i][1], rows[1])
        for j in qj_ok:
            k = int(m.key[i * g + j])
            if k < 0:
                continue
            c, d = max(spans_c[j][0], cols[0]), min(spans_c[j][1], cols[1])
            ki, kj = divmod(k, g)
            dy, dx = round((ki - i) * rh * scale[0]), round((kj - j) * rw * scale[1])
            src_r = np.clip(np.arange(a + dy, b + dy), 0, bounds[0] - 1)
            src_c = np.clip(np.arange(c + dx, d + dx), 0, bounds[1] - 1)
            values = source(src_r, src_c)
            if m.weight is not None and m.weight[i * g + j] != 1.0:
                values = values * m.weight[i * g + j]
            block = (slice(a - rows[0], b - rows[0]), slice(c - cols[0], d - cols[0]))
            total[block] += values
            count[block] += 1
            if squares:
                energy[block] += (values * values).sum(-1)
    return total, energy, count


def _with_border_rule(m: Matches, rows, cols, scale, compute):
    """At the matching size an odd rate leaves the grid's last row (column) to the repetition of the one before
    it (the operator's border rule, ``contract.py``): compute one row / column more and copy it there."""
    if scale != (1.0, 1.0):
        return compute(rows, cols)
    last_r, last_c = m.g * m.rate[0] - 1, m.g * m.rate[1] - 1
    fix_r = m.rate[0] % 2 == 1 and rows[0] <= last_r < rows[1]
    fix_c = m.rate[1] % 2 == 1 and cols[0] <= last_c < cols[1]
    ext_r = (min(rows[0], last_r - 1), rows[1]) if fix_r else rows
    ext_c = (min(cols[0], last_c - 1), cols[1]) if fix_c else cols
    parts = compute(ext_r, ext_c)
    out = []
    for x in parts:
        if x is None:
            out.append(None)
            continue
        if fix_r:
            x[last_r - ext_r[0]] = x[last_r - 1 - ext_r[0]]
        if fix_c:
            x[:, last_c - ext_c[0]] = x[:, last_c - 1 - ext_c[0]]
        out.append(x[rows[0] - ext_r[0] :, cols[0] - ext_c[0] :])
    return out


def aggregate_raw(m: Matches, source: Source, rows: tuple[int, int], cols: tuple[int, int],
                  bounds: tuple[int, int], channels: int = 3, scale: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """The operator's output (sum of the covering queries' copies / 4) on rows x cols.

    bounds: (H, W) of the source picture (reads are clamped into it: the operator's edge replication).
    Returns (rows, cols, channels) float32.
    """
    total, _, _ = _with_border_rule(m, rows, cols, scale, lambda r, c: _sum(m, source, r, c, scale, bounds, channels))
    return total / np.float32(OVERLAP_DIVISOR)


def aggregate(m: Matches, source: Source, rows: tuple[int, int], cols: tuple[int, int], bounds: tuple[int, int],
              channels: int = 3, scale: tuple[float, float] = (1.0, 1.0),
              gain: Gain | None = None, widen: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The mean of the covering copies, its energy restored (module docstring); 0 where no query covers.

    gain: None to measure it here: sqrt(G * mean of the copies' squares / G * square of their mean), clipped to
    [1, MAX_GAIN], G a Gaussian of half a cell (energies are local averages: per pixel the ratio would undo the
    blend), on rows x cols widened by 2 sigma (``widen``; else the region's own edges are reflected, as for a
    whole picture); or a function giving the gain measured at the matching size.
    Returns (y (rows, cols, channels) float32, the gain used (rows, cols) float32).
    """
    if gain is not None:
        total, _, count = _sum(m, source, rows, cols, scale, bounds, channels)
        mean = np.divide(total, count[..., None], out=np.zeros_like(total), where=count[..., None] > 0)
        used = gain(rows, cols)
        return mean * used[..., None], used
    sigma = 0.5 * min(m.rate[0] * scale[0], m.rate[1] * scale[1])
    margin = int(np.ceil(2 * sigma)) if widen else 0
    lo_r, lo_c = max(0, rows[0] - margin), max(0, cols[0] - margin)
    wide_r, wide_c = (lo_r, rows[1] + margin), (lo_c, cols[1] + margin)
    total, energy, count = _with_border_rule(
        m, wide_r, wide_c, scale, lambda r, c: _sum(m, source, r, c, scale, bounds, channels, squares=True))
    mean = np.divide(total, count[..., None], out=np.zeros_like(total), where=count[..., None] > 0)
    each = np.divide(energy, count, out=np.zeros_like(energy), where=count > 0)
    blur = lambda x: cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)  # noqa: E731
    blend = blur((mean * mean).sum(-1))
    used = np.sqrt(np.divide(blur(each), blend, out=np.ones_like(each), where=blend > 1e-12))
    np.clip(used, 1.0, MAX_GAIN, out=used)
    r0, c0 = rows[0] - lo_r, cols[0] - lo_c
    crop = (slice(r0, r0 + rows[1] - rows[0]), slice(c0, c0 + cols[1] - cols[0]))
    return np.ascontiguousarray(mean[crop] * used[crop][..., None]), np.ascontiguousarray(used[crop])
