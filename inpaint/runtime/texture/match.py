"""Which known cell lends its texture to each cell of a hole: top-1 contextual attention on the network's fill.

    matches = match_cells(fill, hole)          # fill (h, w, 3) float32 in [0, 1], hole (h, w) bool True = hole

The picture (or window, at the network's working size) is cut into a ``g x g`` grid of cells of ``r_h x r_w``
pixels (``g`` = :data:`TOKEN_GRID`, HiFill's 32 x 32 = 1024 cells; the picture is padded at the bottom and
right to ``g * r``). Cell ``k = (i, j)`` owns the ``2 r_h x 2 r_w`` patch whose top-left corner is at row
``i * r_h - p_h``, column ``j * r_w - p_w`` (``p = ceil(r / 2)``): the patch layout of the project's
``MaskedAttentionAggregate`` operator (:mod:`inpaint.ops.attention_aggregate.contract`), so that the same
scores drive that operator. Queries are the cells whose patch touches the hole; keys are the cells whose patch
lies in the known region (at least :data:`KEY_MARGIN` pixels from the hole). Each query takes the key whose
patch looks most like the query's patch *in the network's fill* (mean squared difference of the patches
shrunk to 4 x 4 pixel-area averages): the fill gives the structure, the key gives the texture (DeepFill's
contextual attention, Yu et al. 2018, with a top-1 "softmax" and colour patches instead of learned features).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inpaint.runtime.baselines import push_pull_fill

__all__ = ["TOKEN_GRID", "KEY_MARGIN", "FEATURE_SIDE", "Matches", "match_cells", "grid_geometry"]

#: cells per side: HiFill's attention runs between 32 x 32 = 1024 cells of its 512 px result
#: (Yi et al. CVPR 2020, "Contextual Residual Aggregation"; GPU_CPU/test.py)
TOKEN_GRID = 32
#: fewest cells per side; smaller pictures get no texture stage (nothing to copy from)
MIN_GRID = 4
#: samples per patch side in the matching features (a 2r x 2r patch -> 4 x 4 area averages x 3 colours)
FEATURE_SIDE = 4
#: weight of the log texture energy beside the 48 colour samples in the match: a factor e^(1/w) in energy
#: costs as much as one colour sample off by 1 (set by benchmarks/texture.py, docs/texture.md)
ENERGY_WEIGHT = 0.8
#: energy below this counts as flat: about (1 grey level of 255) ** 2 over three channels
ENERGY_FLOOR = 3 * (1 / 255) ** 2
#: tone a copy down when its key's texture energy exceeds what the query's surroundings predict by more than
#: TAME_RATIO (cells of one texture vary: the prediction is a smoothed mean, so a margin keeps ordinary copies)
TAME_ENERGY = True
TAME_RATIO = 2.0
#: rounds of PatchMatch-style propagation, and how much worse (relative squared distance) a continued copy may
#: match than the query's own best key; set by benchmarks/texture.py (docs/texture.md)
COHERENCE_ROUNDS = 4
COHERENCE_TOLERANCE = 0.25
#: keys keep this many pixels away from the hole, so that nothing of the object being removed leaks into the
#: texture they lend: the low-pass that splits structure from texture reaches 3 sigma (stage.LOWPASS_SIGMA = 1:
#: 3 pixels; 1.5: 4.5), the bicubic kernel that enlarges a window 2 (OpenCV's INTER_CUBIC, support 4)
KEY_MARGIN = 5


@dataclass(frozen=True)
class Matches:
    """The grid and, per cell, the key it copies from.

    g: cells per side; rate: (r_h, r_w) pixels per cell at the matching size; key: (g * g,) int64, the key
    cell (row-major index ``i * g + j``) of every query cell, -1 for cells that are not queries or found no key.
    weight: None (all 1) or (g * g,) float32 in (0, 1], the amplitude each query's copy is pasted with: a key
    whose texture is stronger than the query's surroundings predict is toned down to that (:data:`TAME_ENERGY`).
    gain: None, or (h, w) float32 the energy gain the texture stage measured at the matching size
    (:func:`.aggregate.aggregate`; 1 outside the hole), reused at full resolution.
    """

    g: int
    rate: tuple[int, int]
    key: np.ndarray
    weight: np.ndarray | None = None
    gain: np.ndarray | None = None

    @property
    def pad(self) -> tuple[int, int]:
        """Patch offset p = ceil(r / 2) per axis (the operator's ``patch_padding``)."""
        return (self.rate[0] + 1) // 2, (self.rate[1] + 1) // 2

    @property
    def any(self) -> bool:
        return bool((self.key >= 0).any())

    def scores(self) -> np.ndarray:
        """(1, L, L) float32 one-hot rows: the dense attention the ``MaskedAttentionAggregate`` operator takes."""
        n = self.g * self.g
        out = np.zeros((1, n, n), np.float32)
        rows = np.flatnonzero(self.key >= 0)
        out[0, rows, self.key[rows]] = 1.0 if self.weight is None else self.weight[rows]
        return out


def grid_geometry(hw: tuple[int, int]) -> tuple[int, tuple[int, int]] | None:
    """(g, (r_h, r_w)) for a picture of size ``hw``: g = min(TOKEN_GRID, h, w), r = ceil(side / g); None if too small."""
    g = min(TOKEN_GRID, hw[0], hw[1])
    if g < MIN_GRID:
        return None
    return g, (-(-hw[0] // g), -(-hw[1] // g))


def _patch_windows(half: np.ndarray, g: int) -> np.ndarray:
    """(2g, 2g, C) half-cell grid -> (g, g, 4, 4, C): each cell's patch (half-cells 2i-1 .. 2i+2, edge-padded)."""
    padded = np.pad(half, ((1, 1), (1, 1), (0, 0)), mode="edge")
    idx = 2 * np.arange(g)
    rows = idx[:, None] + np.arange(FEATURE_SIDE)[None, :]  # (g, 4)
    return padded[rows[:, None, :, None], rows[None, :, None, :]]  # (g, g, 4, 4, C)


def match_cells(fill: np.ndarray, hole: np.ndarray, energy: np.ndarray | None = None) -> Matches | None:
    """Top-1 key cell for every query cell (module docstring).

    fill: (h, w, 3) float32 in [0, 1], the network's composited output (known pixels = the picture's).
    hole: (h, w) bool, True = hole. energy: None or (h, w) float32 >= 0, the texture's energy per pixel
    (squared residual summed over channels; the hole's values are not read): keys are then also chosen for
    a texture as strong as the known cells around the query have (:data:`ENERGY_WEIGHT`).
    Returns None when the picture is smaller than MIN_GRID pixels a side.
    """
    geometry = grid_geometry(hole.shape)
    if geometry is None:
        return None
    g, (rh, rw) = geometry
    h, w = hole.shape
    hp, wp = g * rh, g * rw
    border = cv2.BORDER_REFLECT_101  # the pixels past the picture, as pad_to_multiple reflects them
    filled = cv2.copyMakeBorder(np.ascontiguousarray(fill, np.float32), 0, hp - h, 0, wp - w, border)
    near = cv2.dilate(hole.astype(np.uint8), np.ones((2 * KEY_MARGIN + 1,) * 2, np.uint8))
    near = cv2.copyMakeBorder(near, 0, hp - h, 0, wp - w, border).astype(np.float32)
    side = 2 * g  # half-cells: a patch is 2r = 4 half-cells a side
    feats = _patch_windows(cv2.resize(filled, (side, side), interpolation=cv2.INTER_AREA), g)
    # max-pool the hole over half-cells: area averaging keeps every partly covered half-cell non-zero
    touched = _patch_windows((cv2.resize(near, (side, side), interpolation=cv2.INTER_AREA) > 0)[..., None], g)
    holes_in = cv2.resize(cv2.copyMakeBorder(hole.astype(np.uint8), 0, hp - h, 0, wp - w, border).astype(np.float32),
                          (side, side), interpolation=cv2.INTER_AREA) > 0
    query = _patch_windows(holes_in[..., None], g).reshape(g * g, -1).any(1)
    valid_key = ~touched.reshape(g * g, -1).any(1)
    key = np.full(g * g, -1, np.int64)
    weight = None
    qs, ks = np.flatnonzero(query), np.flatnonzero(valid_key)
    if qs.size and ks.size:
        f = feats.reshape(g * g, -1).astype(np.float32)
        if energy is not None:
            log_e = _log_energy(energy, hole, g, (hp, wp), valid_key)
            f = np.concatenate([f, ENERGY_WEIGHT * log_e[:, None]], 1)
        fq, fk = f[qs], f[ks]
        dist = (fq * fq).sum(1)[:, None] + (fk * fk).sum(1)[None, :] - 2.0 * fq @ fk.T
        np.maximum(dist, 0.0, out=dist)
        key[qs] = ks[np.argmin(dist, axis=1)]
        if COHERENCE_ROUNDS:
            key = _coherent(key, dist, qs, ks, g)
        if energy is not None and TAME_ENERGY:
            weight = np.ones(g * g, np.float32)
            excess = log_e[key[qs]] - log_e[qs] - np.log(TAME_RATIO)  # how much stronger than predicted
            weight[qs] = np.exp(-0.5 * np.maximum(excess, 0.0))  # amplitude = sqrt(energy)
    return Matches(g, (rh, rw), key, weight)


def _log_energy(energy: np.ndarray, hole: np.ndarray, g: int, padded: tuple[int, int], valid_key: np.ndarray) -> np.ndarray:
    """(g * g,) log texture energy of every cell's patch: measured for keys, pushed-pulled from the known
    half-cells for the others (the texture a query should get is the one around it)."""
    h, w = hole.shape
    border = cv2.BORDER_REFLECT_101
    known = cv2.copyMakeBorder((~hole).astype(np.float32), 0, padded[0] - h, 0, padded[1] - w, border)
    e = cv2.copyMakeBorder(np.where(hole, 0, energy).astype(np.float32), 0, padded[0] - h, 0, padded[1] - w, border)
    side = 2 * g
    k_half = cv2.resize(known, (side, side), interpolation=cv2.INTER_AREA)
    e_half = cv2.resize(e, (side, side), interpolation=cv2.INTER_AREA)
    full = k_half > 1 - 1e-6
    per_pixel = np.divide(e_half, k_half, out=np.zeros_like(e_half), where=k_half > 0)
    filled = push_pull_fill(per_pixel[..., None], full)[..., 0]
    cells = _patch_windows(filled[..., None].astype(np.float32), g).reshape(g * g, -1).mean(1)
    return np.log(cells + ENERGY_FLOOR)


def _coherent(key: np.ndarray, dist: np.ndarray, qs: np.ndarray, ks: np.ndarray, g: int) -> np.ndarray:
    """PatchMatch's propagation (Barnes et al. 2009) as a preference: a query takes the continuation of a
    neighbour's copy (the neighbour's key shifted by the same step) when that key is nearly as good as its own
    best, within :data:`COHERENCE_TOLERANCE`. Larger coherent copies keep the texture whole (no blend, no seam).

    key: (g * g,) current keys; dist: (len(qs), len(ks)) squared feature distances. Returns the new keys.
    """
    column = np.full(g * g, -1, np.int64)
    column[ks] = np.arange(ks.size)
    row = np.arange(qs.size)
    qi, qj = np.divmod(qs, g)
    best = dist[row, column[key[qs]]]
    limit = best * (1.0 + COHERENCE_TOLERANCE) + 1e-6
    for _ in range(COHERENCE_ROUNDS):
        current = key.copy()
        choice, cost = current[qs].copy(), np.full(qs.size, np.inf, np.float32)
        for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            ni, nj = qi + di, qj + dj
            inside = (ni >= 0) & (ni < g) & (nj >= 0) & (nj < g)
            kn = np.where(inside, current[np.clip(ni, 0, g - 1) * g + np.clip(nj, 0, g - 1)], -1)
            ki, kj = np.divmod(np.maximum(kn, 0), g)
            ci, cj = ki - di, kj - dj
            ok = (kn >= 0) & (ci >= 0) & (ci < g) & (cj >= 0) & (cj < g)
            cand = np.where(ok, ci * g + cj, 0)
            col = np.where(ok, column[cand], -1)
            ok &= col >= 0
            c = np.where(ok, dist[row, np.maximum(col, 0)], np.inf)
            better = ok & (c <= limit) & (c < cost)
            choice[better], cost[better] = cand[better], c[better]
        key[qs] = choice
    return key
