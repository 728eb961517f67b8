"""``--temporal``: steady the fill across frames (frame-by-frame fills flicker).

For each frame t, given the input frame, the frame-by-frame result and the hole:

1. **Scene cut** (:func:`is_scene_cut`): the grey-level histograms of frames t-1 and t differ (their
   correlation is below :data:`CUT_CORRELATION`): start afresh, keep the frame-by-frame result.
2. **Nothing moved**: the hole is the same and its surroundings (a ring of :data:`RING` pixels around
   it) changed by at most :data:`STATIC_LEVELS` grey levels on average (codec noise): keep the
   previous fill as it was.
3. **Otherwise**: the optical flow from t to t-1 (OpenCV DIS, preset medium) of the surroundings is
   carried into the hole (the flow inside the hole follows the object being removed, not what is
   behind it, so it is replaced by a push-pull fill of the flow around it), the previous OUTPUT is
   warped along it, and the fill is ``w * warped + (1 - w) * new`` with ``w = BLEND`` scaled down
   as the warped previous input misses the current one around the hole (``RESIDUAL_LEVELS`` of
   mean error or more: ``w = 0``).

Known pixels are never changed: the result is composited from the input frame with the hole only.
Frames: (H, W, 3) uint8 RGB; hole (H, W) bool, True = hole.
"""

from __future__ import annotations

import cv2
import numpy as np

from inpaint.runtime.baselines import push_pull_fill

__all__ = ["TemporalSteadier", "is_scene_cut", "dis_flow", "warp"]

#: weight of the warped previous fill (an exponential moving average along the flow: for independent
#: frame-by-frame fills, the frame-to-frame change shrinks to (1 - BLEND) / sqrt(1 + BLEND) = 0.15 of it)
BLEND = 0.8
#: width in pixels of the ring around the hole whose change decides "nothing moved" and the blend weight
RING = 8
#: mean absolute change (grey levels of 255) of the ring under which the scene counts as still
STATIC_LEVELS = 2.0
#: mean error (grey levels) of the warped previous input in the ring at which the previous fill is not used
RESIDUAL_LEVELS = 24.0
#: histogram correlation (OpenCV HISTCMP_CORREL, 64 grey bins) below which two frames are a scene cut
CUT_CORRELATION = 0.5


def grey(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint8 luma (BT.601)."""
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def dis_flow(to_grey: np.ndarray, from_grey: np.ndarray) -> np.ndarray:
    """Dense flow (H, W, 2) float32 such that ``to[y, x]`` shows what ``from[y + fy, x + fx]`` showed
    (DIS, preset medium: OpenCV's ``DISOpticalFlow_create(DISOPTICAL_FLOW_PRESET_MEDIUM)``)."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(to_grey, from_grey, None)


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warp: out[y, x] = image[y + fy, x + fx], bilinear, edges replicated. image (H, W[, C])."""
    h, w = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def is_scene_cut(grey_a: np.ndarray, grey_b: np.ndarray) -> bool:
    """True when the 64-bin grey histograms of the two frames correlate below :data:`CUT_CORRELATION`:
    camera motion keeps a scene's histogram, a cut to another shot changes it."""
    ha = cv2.calcHist([grey_a], [0], None, [64], [0, 256])
    hb = cv2.calcHist([grey_b], [0], None, [64], [0, 256])
    return cv2.compareHist(ha, hb, cv2.HISTCMP_CORREL) < CUT_CORRELATION


def _ring(hole: np.ndarray) -> np.ndarray:
    size = 2 * RING + 1
    grown = cv2.dilate(hole.view(np.uint8), np.ones((size, size), np.uint8)).astype(bool)
    return grown & ~hole


class TemporalSteadier:
    """Feed the frames in order with :meth:`step`; it keeps the previous frame. ``decisions`` counts
    what each frame got ("first", "cut", "still", "flow", "empty")."""

    def __init__(self):
        self._prev: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (input grey, output rgb, hole)
        self.decisions: dict[str, int] = {}

    def _note(self, what: str) -> None:
        self.decisions[what] = self.decisions.get(what, 0) + 1

    def step(self, rgb: np.ndarray, result: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """rgb: the input frame; result: its frame-by-frame inpainting; hole: (H, W) bool.
        Returns the steadied frame: ``rgb`` outside the hole (bit-identical), the steadied fill inside."""
        g = grey(rgb)
        prev, self._prev = self._prev, None
        out = result
        if not hole.any():
            self._note("empty")
        elif prev is None:
            self._note("first")
        elif is_scene_cut(prev[0], g):
            self._note("cut")
        else:
            prev_g, prev_out, prev_hole = prev
            ring = _ring(hole)
            if not ring.any():
                ring = ~hole
            still = np.array_equal(hole, prev_hole) and (
                np.abs(g[ring].astype(np.int16) - prev_g[ring]).mean() <= STATIC_LEVELS if ring.any() else True
            )
            if still:
                self._note("still")
                out = np.where(hole[..., None], prev_out, rgb)
            else:
                self._note("flow")
                flow = dis_flow(g, prev_g)
                covered = hole | _ring(hole)  # flow there follows the removed object: take the surroundings'
                if (~covered).any():
                    flow = push_pull_fill(flow, ~covered).astype(np.float32)
                residual = np.abs(warp(prev_g, flow)[ring].astype(np.float32) - g[ring]).mean() if ring.any() else 0.0
                w = BLEND * float(np.clip(1.0 - residual / RESIDUAL_LEVELS, 0.0, 1.0))
                if w > 0:
                    warped = warp(prev_out, flow).astype(np.float32)
                    fill = w * warped + (1.0 - w) * result.astype(np.float32)
                    out = np.where(hole[..., None], np.clip(np.rint(fill), 0, 255).astype(np.uint8), rgb)
        self._prev = (g, out, hole)
        return out
