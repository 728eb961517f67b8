"""The ``crop`` strategy: the network runs on windows around the holes (:mod:`.windows`), at the working size.

    results = inpaint_windows(runner, rgbs, holes, plans)     # plans: one windows.Plan per picture

Each window is cut from the picture, shrunk to at most the working size (:func:`.resample.shrink`,
its hole with :func:`.resample.shrink_hole`), reflect-padded to the runner's stride, run, enlarged
back (:func:`.resample.enlarge_region`, band by band) and only the hole pixels it owns are pasted;
known pixels are never written. Float copies exist per window only.

Order: windows run in waves. A window joins the first wave after every earlier window that overlaps it
(earlier = larger window, then plan order), so overlapping windows never run together and a later
window sees the earlier one's filled pixels as known context: the seam between them is consistent.
Windows of one wave with equal padded size, from all pictures of the call, run as one batch of up to
:func:`batch_cap` windows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from inpaint.runtime.backends.base import Runner
from inpaint.runtime.processing import from_float, pad_to_multiple
from inpaint.runtime.strategies.choose import working_size
from inpaint.runtime.strategies.memory import working_mb
from inpaint.runtime.strategies.resample import BAND_ROWS, UPSAMPLE, enlarge_region, shrink, shrink_hole
from inpaint.runtime.strategies.windows import Plan, plan_windows
from inpaint.runtime.texture.stage import WindowDetail, texture_fill, window_detail

__all__ = ["inpaint_crop", "inpaint_windows", "waves", "batch_cap", "WINDOW_BATCH_MB", "MAX_WINDOW_BATCH"]


#: working memory one batch of windows may take (estimated by :func:`.memory.working_mb`); with the
#: bundled madf-s on ONNX Runtime (1742 MB / MP) that is 4 windows of 256 x 256
WINDOW_BATCH_MB = 512
#: never more windows than this in one ``runner.infer`` call, however small the model
MAX_WINDOW_BATCH = 16


def batch_cap(runner: Runner, hw: tuple[int, int]) -> int:
    """How many windows of padded size ``hw`` run in one batch (1 to :data:`MAX_WINDOW_BATCH`)."""
    per_window = working_mb(runner.metadata, runner.name, hw[0] * hw[1])
    return max(1, min(MAX_WINDOW_BATCH, math.floor(WINDOW_BATCH_MB / per_window) if per_window > 0 else MAX_WINDOW_BATCH))


def waves(plan: Plan) -> list[list[int]]:
    """Window indices of ``plan`` grouped in waves (module docstring): no two windows of a wave overlap."""
    order = sorted(range(len(plan.windows)), key=lambda i: -plan.windows[i].area)
    wave_of: dict[int, int] = {}
    for k, i in enumerate(order):
        before = [wave_of[j] for j in order[:k] if plan.windows[j].overlap(plan.windows[i]) > 0]
        wave_of[i] = 1 + max(before) if before else 0
    out: list[list[int]] = [[] for _ in range(1 + max(wave_of.values(), default=-1))]
    for i in order:
        out[wave_of[i]].append(i)
    return out


def _padded(hw: tuple[int, int], stride: int) -> tuple[int, int]:
    return -(-hw[0] // stride) * stride, -(-hw[1] // stride) * stride


def inpaint_windows(runner: Runner, rgbs: Sequence[np.ndarray], holes: Sequence[np.ndarray], plans: Sequence[Plan],
                    *, interpolation: int = UPSAMPLE, texture: float = 0.0) -> list[np.ndarray]:
    """Run the windows of ``plans`` and paste them into copies of ``rgbs``.

    rgbs: (H, W, 3) uint8/uint16 RGB. holes: (H, W) bool, True = hole (the plans' holes).
    interpolation: the OpenCV flag that enlarges results (default :data:`.resample.UPSAMPLE`).
    texture: strength of the texture stage (:mod:`inpaint.runtime.texture`): step 1 on each window at the
        working size, step 2 (full-resolution residual) where the window was shrunk; 0 = off.
    Returns one (H, W, 3) array per picture, its dtype; known pixels bit-identical to the input.
    """
    size = working_size(runner)
    stride = runner.stride
    results = [np.array(rgb, copy=True) for rgb in rgbs]
    pending = [np.asarray(h) for h in holes]  # holes not filled yet; copied on the first write
    copied = [False] * len(holes)
    plan_waves = [waves(p) for p in plans]
    for wave in range(max((len(w) for w in plan_waves), default=0)):
        tasks = [(p, i) for p, pw in enumerate(plan_waves) if wave < len(pw) for i in pw[wave]]
        by_shape: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for p, i in tasks:
            by_shape.setdefault(_padded(plans[p].windows[i].target(size), stride), []).append((p, i))
        for shape, group in by_shape.items():
            cap = batch_cap(runner, shape)
            for start in range(0, len(group), cap):
                chunk = group[start : start + cap]
                _run_chunk(runner, results, pending, plans, chunk, size, interpolation, texture)
                if wave + 1 < max(len(w) for w in plan_waves):  # later waves see these pixels as known
                    for p, i in chunk:
                        if not copied[p]:
                            pending[p], copied[p] = pending[p].copy(), True
                        win = plans[p].windows[i]
                        pending[p][win.y0 : win.y1, win.x0 : win.x1] &= ~plans[p].owned(i)
    return results


def _run_chunk(runner, results, pending, plans, chunk, size, interpolation, texture) -> None:
    images, masks, targets, smalls = [], [], [], []
    for p, i in chunk:
        win = plans[p].windows[i]
        target = win.target(size)
        rgb = shrink(results[p][win.y0 : win.y1, win.x0 : win.x1], target)
        hole = shrink_hole(pending[p][win.y0 : win.y1, win.x0 : win.x1], target)
        image, _ = pad_to_multiple(rgb.transpose(2, 0, 1)[None], runner.stride)
        mask, _ = pad_to_multiple(hole[None, None].astype(np.float32), runner.stride)
        images.append(image[0])
        masks.append(mask[0])
        targets.append(target)
        smalls.append((rgb, hole))
    out = runner.infer(np.stack(images), np.stack(masks))
    for (p, i), target, generated, (rgb, hole) in zip(chunk, targets, out, smalls):
        small = np.ascontiguousarray(generated[:, : target[0], : target[1]].transpose(1, 2, 0))
        detail = None
        if texture:
            small, matches = texture_fill(rgb, hole, small, strength=texture)
            win = plans[p].windows[i]
            if matches is not None and small.shape[:2] != (win.h, win.w):
                pixels = results[p][win.y0 : win.y1, win.x0 : win.x1]
                detail = WindowDetail(pixels, rgb, matches, texture, interpolation)
        _paste(results[p], plans[p], i, small, interpolation, detail)


def _paste(result: np.ndarray, plan: Plan, i: int, small: np.ndarray, interpolation: int,
           detail: WindowDetail | None = None) -> None:
    """Write window ``i``'s owned hole pixels of ``small`` (its result at the target size) into ``result``;
    with ``detail``, the full-resolution residual of the texture stage's step 2 is added to each enlarged band."""
    win = plan.windows[i]
    owned = plan.owned(i)
    rows = np.flatnonzero(owned.any(axis=1))
    if rows.size == 0:
        return
    cols = np.flatnonzero(owned.any(axis=0))
    c0, c1 = int(cols[0]), int(cols[-1]) + 1
    roi = result[win.y0 : win.y1, win.x0 : win.x1]
    if small.shape[:2] == (win.h, win.w):  # no resampling: the network's own pixels
        np.copyto(roi, from_float(small, result.dtype), where=owned[..., None])
        return
    for r0 in range(int(rows[0]), int(rows[-1]) + 1, BAND_ROWS):
        r1 = min(r0 + BAND_ROWS, int(rows[-1]) + 1)
        band = enlarge_region(small, (win.h, win.w), (r0, r1), (c0, c1), interpolation)
        if detail is not None:
            band += window_detail(detail, (r0, r1), (c0, c1))
        band = from_float(band, result.dtype)
        np.copyto(roi[r0:r1, c0:c1], band, where=owned[r0:r1, c0:c1, None])


def inpaint_crop(runner: Runner, rgbs: Sequence[np.ndarray], holes: Sequence[np.ndarray],
                 *, interpolation: int = UPSAMPLE, plans: Sequence[Plan | None] | None = None,
                 texture: float = 0.0) -> tuple[list[np.ndarray], list[int]]:
    """Plan windows for every picture at the working size (``runner.metadata.train_size``) and run them.

    plans: already made plans (None entries are planned here). texture: as for :func:`inpaint_windows`. Returns (results, windows per picture).
    """
    size = working_size(runner)
    given = list(plans) if plans is not None else [None] * len(holes)
    plans = [p if p is not None else plan_windows(np.ascontiguousarray(h), size) for p, h in zip(given, holes)]
    return inpaint_windows(runner, rgbs, holes, plans, interpolation=interpolation, texture=texture), [len(p.windows) for p in plans]
