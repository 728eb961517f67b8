"""The window planner of the ``crop`` strategy: which rectangles of a photo the network runs on, and which
hole pixels each one pastes.

    plan = plan_windows(hole, size=256)      # hole (H, W) bool, True = hole; size = the model's working size
    for i, win in enumerate(plan.windows):   # Window(y0, x0, y1, x1), inside the photo
        owned = plan.owned(i)                # (win.h, win.w) bool: the hole pixels window i pastes

Steps:

1. Connected components (8-connectivity, ``cv2.connectedComponentsWithStats``) of the hole, on a map
   max-pooled by ``cell`` pixels when the photo has more than :data:`MAX_LABEL_PIXELS` pixels (a 48 MP
   photo is labelled at 2000x1500: an int32 label map of the full photo would cost 4 bytes a pixel).
   Holes closer than ``cell`` pixels join; boxes are then up to ``cell - 1`` pixels loose.
2. A group's window is a square around its box: margin ``max(MIN_MARGIN * size, CONTEXT * long side of
   the box)`` on each side (context grows with the hole), at least ``size`` wide, centred on the box and
   shifted (not cut) to lie inside the photo; only a photo smaller than the square cuts it.
3. Groups whose windows overlap by more than :data:`MERGE_OVERLAP` of the smaller window are merged
   while the merged window is no larger (in area) than the two windows together: nearby holes share a
   window, far ones keep their resolution.
4. Specks (groups whose box is under :data:`SPECK` x size on both sides) never get dropped: a speck
   inside another group's window (with a little context) is pasted by that window; the other specks are
   grouped among themselves as in step 3 and get windows of their own.

Every hole pixel belongs to exactly one window (the window of its component's group): ``owned`` masks
are disjoint and their union is the hole. Windows may overlap; :mod:`.crop` composites them in waves
so that a window sees the pixels filled by the windows before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Window", "Plan", "plan_windows", "whole_photo", "MIN_MARGIN", "CONTEXT", "MERGE_OVERLAP", "SPECK"]

#: smallest margin around a hole, as a fraction of the working size (64 px at 256): MADF's training
#: holes (free-form strokes, 1-60 % of a 256 crop) always have context on every side
MIN_MARGIN = 0.25
#: margin on each side as a fraction of the hole box's long side: the window is twice the hole box,
#: so a box-shaped hole covers at most a quarter of its window, the middle of the training range
CONTEXT = 0.5
#: windows overlapping by more than this fraction of the smaller one are merged (when it costs no resolution)
MERGE_OVERLAP = 0.25
#: a group whose box is below this fraction of the working size on both sides is a speck (8 px at 256)
SPECK = 1 / 32
#: label the hole on a max-pooled map when the photo has more pixels than this (2 ** 22: 16 MB of int32 labels)
MAX_LABEL_PIXELS = 1 << 22
#: more components than this are first grouped by a grid of working-size cells (keeps merging O(groups ** 2) small)
MAX_GROUPS = 1024


@dataclass(frozen=True)
class Window:
    """Rows ``y0:y1``, columns ``x0:x1`` of the photo (end exclusive)."""

    y0: int
    x0: int
    y1: int
    x1: int

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def area(self) -> int:
        return self.h * self.w

    def overlap(self, other: Window) -> int:
        """Pixels shared with ``other``."""
        dy = min(self.y1, other.y1) - max(self.y0, other.y0)
        dx = min(self.x1, other.x1) - max(self.x0, other.x0)
        return max(dy, 0) * max(dx, 0)

    def target(self, size: int) -> tuple[int, int]:
        """(h, w) the window is resized to: the long side brought down to ``size``, never up."""
        scale = min(1.0, size / max(self.h, self.w))
        return max(1, round(self.h * scale)), max(1, round(self.w * scale))


@dataclass
class Plan:
    """Windows of one photo and which hole pixels each one pastes.

    hole: (H, W) bool, True = hole (referenced, not copied). windows: inside the photo.
    cell: the max-pooling factor of ``labels`` (1 = full resolution). labels: (ceil(H / cell), ceil(W / cell))
    int32 component labels, 0 = no hole; None = window 0 owns every hole pixel. owner: (labels.max() + 1,)
    int32, the window index of each label (-1 for label 0).
    """

    hole: np.ndarray
    windows: list[Window]
    cell: int = 1
    labels: np.ndarray | None = None
    owner: np.ndarray | None = None

    def owned(self, i: int) -> np.ndarray:
        """(h, w) bool for window ``i``: True where it pastes its result (hole pixels of its groups)."""
        win = self.windows[i]
        hole = self.hole[win.y0 : win.y1, win.x0 : win.x1]
        if self.labels is None or self.owner is None:
            return hole.copy()
        c = self.cell
        cy0, cx0 = win.y0 // c, win.x0 // c
        mine = self.owner[self.labels[cy0 : -(-win.y1 // c), cx0 : -(-win.x1 // c)]] == i
        if c > 1:
            mine = np.repeat(np.repeat(mine, c, axis=0), c, axis=1)
        oy, ox = win.y0 - cy0 * c, win.x0 - cx0 * c
        return hole & mine[oy : oy + win.h, ox : ox + win.w]


def whole_photo(hole: np.ndarray) -> Plan:
    """The ``resize`` strategy's plan: one window, the whole photo, owning every hole pixel."""
    h, w = hole.shape
    return Plan(hole=hole, windows=[Window(0, 0, h, w)])


def _pool(hole: np.ndarray, cell: int) -> np.ndarray:
    """(H, W) bool -> (ceil(H / cell), ceil(W / cell)) uint8, 1 where the cell holds any hole pixel."""
    u8 = hole.view(np.uint8)
    if cell == 1:
        return u8
    grown = cv2.dilate(u8, np.ones((cell, cell), np.uint8), anchor=(0, 0))  # max over [y, y + cell) x [x, x + cell)
    return np.ascontiguousarray(grown[::cell, ::cell])


def _windows_of(boxes: np.ndarray, size: int, hw: tuple[int, int]) -> np.ndarray:
    """boxes (G, 4) int64 y0, x0, y1, x1 -> windows (G, 4), see the module docstring (step 2)."""
    H, W = hw
    y0, x0, y1, x1 = boxes.T
    long = np.maximum(y1 - y0, x1 - x0)
    margin = np.maximum(math.ceil(MIN_MARGIN * size), np.ceil(CONTEXT * long).astype(np.int64))
    side = np.maximum(size, long + 2 * margin)
    wy0 = np.clip((y0 + y1 - side) // 2, 0, np.maximum(H - side, 0))
    wx0 = np.clip((x0 + x1 - side) // 2, 0, np.maximum(W - side, 0))
    return np.stack([wy0, wx0, np.minimum(wy0 + side, H), np.minimum(wx0 + side, W)], axis=1)


def _area(w: np.ndarray) -> np.ndarray:
    return (w[..., 2] - w[..., 0]) * (w[..., 3] - w[..., 1])


def _merge(boxes: np.ndarray, members: list[list[int]], size: int, hw: tuple[int, int]) -> tuple[np.ndarray, list[list[int]]]:
    """Step 3: merge groups while some pair qualifies; each pass merges disjoint pairs, most overlap first."""
    while len(boxes) > 1:
        win = _windows_of(boxes, size, hw)
        area = _area(win)
        a, b = win[:, None, :], win[None, :, :]
        inter = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None) * np.clip(
            np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None
        )
        union = np.concatenate([np.minimum(boxes[:, None, :2], boxes[None, :, :2]),
                                np.maximum(boxes[:, None, 2:], boxes[None, :, 2:])], axis=-1)
        merged_area = _area(_windows_of(union.reshape(-1, 4), size, hw).reshape(len(boxes), len(boxes), 4))
        pair_area = area[:, None] + area[None, :]
        ok = (inter > MERGE_OVERLAP * np.minimum(area[:, None], area[None, :])) & (merged_area <= pair_area)
        ok &= np.triu(np.ones_like(ok), k=1)
        if not ok.any():
            break
        ii, jj = np.nonzero(ok)
        order = np.argsort(-inter[ii, jj], kind="stable")
        used: set[int] = set()
        gone: set[int] = set()
        for i, j in zip(ii[order].tolist(), jj[order].tolist()):
            if i in used or j in used:
                continue
            used.update((i, j))
            boxes[i] = union[i, j]
            members[i] = members[i] + members[j]
            gone.add(j)
        keep = [k for k in range(len(boxes)) if k not in gone]
        boxes, members = boxes[keep], [members[k] for k in keep]
    return boxes, members


def plan_windows(hole: np.ndarray, size: int) -> Plan:
    """Plan the windows of one photo (see the module docstring).

    hole: (H, W) bool, True = hole. size: the model's working size (``ModelInfo.train_size``), > 0.
    Returns a :class:`Plan` (no windows for an empty hole).
    """
    if hole.dtype != np.bool_ or hole.ndim != 2:
        raise ValueError(f"expected an (H, W) bool hole, got {hole.dtype} {hole.shape}")
    if size < 1:
        raise ValueError(f"working size must be positive, got {size}")
    H, W = hole.shape
    cell = max(1, math.ceil(math.sqrt(H * W / MAX_LABEL_PIXELS)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(_pool(hole, cell), connectivity=8, ltype=cv2.CV_32S)
    if n <= 1:
        return Plan(hole=hole, windows=[], cell=cell, labels=labels, owner=np.full(max(n, 1), -1, np.int32))
    x, y, w, h = (stats[1:, k].astype(np.int64) for k in range(4))
    boxes = np.stack([y * cell, x * cell, np.minimum((y + h) * cell, H), np.minimum((x + w) * cell, W)], axis=1)
    comps = np.arange(1, n)
    if len(comps) > MAX_GROUPS:  # group by the working-size grid cell of each box's centre first
        key = ((boxes[:, 0] + boxes[:, 2]) // (2 * size)) * (W // size + 1) + (boxes[:, 1] + boxes[:, 3]) // (2 * size)
        groups = [np.nonzero(key == k)[0] for k in np.unique(key)]
        boxes = np.stack([np.concatenate([boxes[g, :2].min(0), boxes[g, 2:].max(0)]) for g in groups])
        members = [(g + 1).tolist() for g in groups]
        big_boxes, big = _merge(boxes, members, size, (H, W))
        specks: list[int] = []
    else:
        long = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        is_speck = long < SPECK * size
        big_boxes, big = _merge(boxes[~is_speck].copy(), [[int(c)] for c in comps[~is_speck]], size, (H, W))
        specks = [int(c) for c in comps[is_speck]]

    windows = _windows_of(big_boxes, size, (H, W)) if len(big_boxes) else np.zeros((0, 4), np.int64)
    loose: list[int] = []
    for c in specks:  # step 4: into the window that holds it with context, nearest centre first
        by0, bx0, by1, bx1 = boxes[c - 1]
        inset = np.ceil(MIN_MARGIN * size / 2 * np.maximum(1.0, (windows[:, 2] - windows[:, 0]) / size)).astype(np.int64)
        inside = (windows[:, 0] + inset <= by0) & (windows[:, 1] + inset <= bx0) & (by1 <= windows[:, 2] - inset) & (bx1 <= windows[:, 3] - inset)
        if inside.any():
            dist = np.abs(windows[:, 0] + windows[:, 2] - by0 - by1) + np.abs(windows[:, 1] + windows[:, 3] - bx0 - bx1)
            big[int(np.argmin(np.where(inside, dist, np.iinfo(np.int64).max)))].append(c)
        else:
            loose.append(c)
    if loose:
        speck_boxes, speck_groups = _merge(boxes[np.array(loose) - 1].copy(), [[c] for c in loose], size, (H, W))
        windows = np.concatenate([windows, _windows_of(speck_boxes, size, (H, W))])
        big = big + speck_groups
    owner = np.full(n, -1, np.int32)
    for i, group in enumerate(big):
        owner[group] = i
    return Plan(
        hole=hole,
        windows=[Window(*map(int, w)) for w in windows],
        cell=cell,
        labels=labels,
        owner=owner,
    )
