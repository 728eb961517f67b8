"""Dense optical flow between neighbouring frames, completed inside the holes, with its consistency check.

For frames a and b (b the next one), :func:`pair_flows` returns

- ``forward`` (H, W, 2) float32 on a's grid: pixel (x, y) of a shows what b shows at (x + fx, y + fy);
- ``backward`` (H, W, 2) float32 on b's grid, the other way;
- ``forward_ok`` / ``backward_ok`` (H, W) bool: the forward-backward check passes there
  (``|f(p) + b(p + f(p))| <= CONSISTENCY_PX``; occlusions and bad matches fail it).

How (after FGVC, Gao et al. ECCV 2020: flow completed in the hole before any pixel is propagated):

1. Both grey frames get their holes painted over with a push-pull fill first, so the object being removed
   (a logo, a figure) does not attract the matcher: the flow is driven by what surrounds it.
2. OpenCV's DIS optical flow, preset medium, at most :data:`FLOW_SIDE` pixels on the longer side (larger
   frames are reduced, the flow scaled back up). Preset fast stops at half resolution: on the tests' pans
   and on photos it is off by 0.1-0.4 px (median), preset medium by 0.01-0.05 px, which rounding (4.) makes
   exact.
3. Inside both frames' holes (grown by :data:`HOLE_MARGIN` pixels: DIS's patches straddling a hole's edge
   are unreliable), the flow is replaced by the push-pull fill of the flow around them: the background
   moves smoothly under the object. Only pixels with texture feed that fill (:func:`confidence`: on flat
   areas DIS's flow is anything). Both holes, because a pixel of one frame that the other frame's hole
   covers has nothing to match there (a figure that moved onto it).
4. Components within :data:`SNAP_PX` of a whole pixel are rounded to it, so a still camera or a pan by whole
   pixels copies pixels exactly instead of resampling (and slowly blurring) them.

Frames: (H, W) uint8 grey; holes (H, W) bool, True = hole.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inpaint.runtime.baselines import push_pull_fill

__all__ = ["PairFlow", "pair_flows", "sample", "FLOW_SIDE", "CONSISTENCY_PX", "SNAP_PX", "HOLE_MARGIN"]

#: longer side (px) at which the flow is computed: DIS preset medium takes ~16-25 ms a flow at 256x256 on
#: this (shared, 2-core) CPU, ~48 ms at 640x360; a 1080p frame at full size would take ~9x more
FLOW_SIDE = 640
#: forward-backward disagreement (px) above which a pixel's flow is not followed (FGVC's check; sub-pixel
#: DIS noise is ~0.1-0.3 px on textured footage, occlusions give several pixels)
CONSISTENCY_PX = 1.0
#: flow components this close to a whole pixel are rounded to it (DIS's sub-pixel noise on a still or
#: integer-panned textured frame stays below ~0.05 px, measured on the tests' synthetic pans)
SNAP_PX = 0.1
#: the hole is grown by this many pixels before its flow is replaced by the fill (DIS patches are 8 px at
#: preset medium: half a patch across the hole's edge)
HOLE_MARGIN = 4
#: the structure-tensor quantile at which a pixel's flow gets half weight in the completion (the 75 %
#: quantile: on the sunset photo of the benchmark, whose top half is sky, the quarter with most texture)
TEXTURE_QUANTILE = 0.75
#: confidence above which a pixel's flow feeds the completion. On the benchmark's pan over the sunset photo
#: (a logo on flat sky, where DIS's smoothing drags the static hole's zero motion 30 px out) the completed
#: flow is off by 1.08 px with every pixel, 0.16 / 0.06 / 0.07 px with confidence over 0.1 / 0.25 / 0.5
CONFIDENT = 0.25
#: below this share of trusted pixels (a frame with no texture at all) every known pixel is used
MIN_TRUSTED = 0.02


@dataclass
class PairFlow:
    """Flows between frame a and the next frame b (see the module's docstring)."""

    forward: np.ndarray
    backward: np.ndarray
    forward_ok: np.ndarray
    backward_ok: np.ndarray


def _grow(hole: np.ndarray, px: int) -> np.ndarray:
    if px <= 0 or not hole.any():
        return hole
    return cv2.dilate(hole.view(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)).astype(bool)


def fill_grey(grey: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """(H, W) uint8 with its hole painted over by push-pull (the matcher then sees no object there)."""
    if not hole.any() or hole.all():
        return grey
    filled = push_pull_fill(grey[..., None].astype(np.float32), ~hole)[..., 0]
    return np.clip(np.rint(filled), 0, 255).astype(np.uint8)


def _dis(to: np.ndarray, frm: np.ndarray) -> np.ndarray:
    """Flow on ``to``'s grid: to[y, x] shows frm[y + fy, x + fx] (DIS preset medium, reduced to FLOW_SIDE)."""
    h, w = to.shape
    scale = min(1.0, FLOW_SIDE / max(h, w))
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    if scale < 1.0:
        size = (max(8, round(w * scale)), max(8, round(h * scale)))
        small = dis.calc(cv2.resize(to, size, interpolation=cv2.INTER_AREA),
                         cv2.resize(frm, size, interpolation=cv2.INTER_AREA), None)
        flow = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        flow[..., 0] *= w / size[0]
        flow[..., 1] *= h / size[1]
        return flow
    return dis.calc(to, frm, None)


def confidence(grey: np.ndarray, known: np.ndarray) -> np.ndarray:
    """(H, W) float64 in [0, 1): how far DIS's flow can be trusted at each pixel, 0 outside ``known``.

    The smaller eigenvalue of the structure tensor (OpenCV ``cornerMinEigenVal``, 7 px block) is ~0 on flat
    areas (sky: any flow fits) and along straight edges (only the normal component is known: the aperture
    problem); the confidence is lambda / (lambda + lambda_0), lambda_0 the frame's :data:`TEXTURE_QUANTILE`
    quantile of it, so the frame's most textured pixels count ~fully whatever the footage's contrast."""
    lam = cv2.cornerMinEigenVal(grey, 7, 3).astype(np.float64)
    ref = max(float(np.quantile(lam[known], TEXTURE_QUANTILE)) if known.any() else 0.0, 1e-9)
    return np.where(known, lam / (lam + ref), 0.0)


def complete(flow: np.ndarray, hole: np.ndarray, grey: np.ndarray | None = None) -> np.ndarray:
    """Flow (H, W, 2) with the (grown) hole replaced by the push-pull fill of the flow around it: of the
    pixels whose :func:`confidence` is over :data:`CONFIDENT` when ``grey`` (the frame the flow is on) is
    given (all of them when none is)."""
    covered = _grow(hole, HOLE_MARGIN)
    if covered.any() and not covered.all():
        known = ~covered
        if grey is not None:
            trusted = known & (confidence(grey, known) > CONFIDENT)
            known = trusted if trusted.sum() >= MIN_TRUSTED * known.sum() else known
        filled = push_pull_fill(flow, known).astype(np.float32)
        flow = np.where(covered[..., None], filled, flow)
    elif covered.all():
        flow = np.zeros_like(flow)  # nothing known to take the motion from: assume none
    return flow


def snap(flow: np.ndarray) -> np.ndarray:
    whole = np.rint(flow)
    return np.where(np.abs(flow - whole) <= SNAP_PX, whole, flow).astype(np.float32)


def sample(image: np.ndarray, xs: np.ndarray, ys: np.ndarray, nearest: bool = False) -> np.ndarray:
    """image (H, W[, C]) at the points (xs, ys) (N,) float32, bilinear (or nearest), edges replicated.
    Returns (N[, C]) of image's dtype (float32 for float images). Whole-pixel points return exact values."""
    mx = np.ascontiguousarray(xs, np.float32).reshape(-1, 1)
    my = np.ascontiguousarray(ys, np.float32).reshape(-1, 1)
    if mx.size == 0:
        return np.zeros((0, *image.shape[2:]), image.dtype)
    src = image.view(np.uint8) if image.dtype == bool else image
    out = cv2.remap(src, mx, my, cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out = out.reshape(mx.shape[0], *image.shape[2:])
    return out.astype(bool) if image.dtype == bool else out


def _check(flow: np.ndarray, other: np.ndarray) -> np.ndarray:
    """(H, W) bool: following ``flow`` then ``other`` comes back within CONSISTENCY_PX, and stays inside."""
    h, w = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    tx, ty = xs + flow[..., 0], ys + flow[..., 1]
    back = cv2.remap(other, tx, ty, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    err = np.hypot(flow[..., 0] + back[..., 0], flow[..., 1] + back[..., 1])
    inside = (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)
    return (err <= CONSISTENCY_PX) & inside


def pair_flows(grey_a: np.ndarray, grey_b: np.ndarray, hole_a: np.ndarray, hole_b: np.ndarray) -> PairFlow:
    """Completed forward / backward flows between frame a and the next frame b, and their checks."""
    fa, fb = fill_grey(grey_a, hole_a), fill_grey(grey_b, hole_b)
    both = hole_a | hole_b
    forward = snap(complete(_dis(fa, fb), both, fa))
    backward = snap(complete(_dis(fb, fa), both, fb))
    return PairFlow(forward, backward, _check(forward, backward), _check(backward, forward))
