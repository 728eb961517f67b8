"""Follow one object through frames: motion from dense optical flow, shape from GrabCut, colours from the key frame.

    tracker = MaskTracker(key_rgb, key_mask)      # frame K and its object mask
    for rgb in frames_after_k:                    # or before K, in reverse order
        mask = tracker.step(rgb)                  # (H, W) bool, True = object; empty while it is gone

Frames: (H, W, 3) uint8 RGB, all of one size (the working size of :mod:`inpaint.runtime.masks.clip`).

Per frame (why: warping a mask along the flow alone drifts, shared/MASKS.md):

1. **Motion**: DIS optical flow (OpenCV) between the previous and this frame at half size; a similarity
   transform (shift, scale, turn) fitted with RANSAC to the flow inside the previous mask, away from its
   edge, so the background's flow at the rim does not pull the mask along; the previous mask moved by it is
   the prediction.
2. **Shape**: GrabCut in a band of :data:`BAND` x sqrt(area) px around the predicted edge (inside and out),
   on a crop around it, with the OBJECT's colour model frozen from the key frame and the BACKGROUND's learnt
   on this frame's crop: the edge snaps to colour edges and cannot slowly take on the background's colours.
3. **Gone**: when the prediction leaves the frame or GrabCut keeps under :data:`LOST_SHARE` of it, the mask is
   empty and the object is looked for on every later frame: pixels whose colour is likelier under the key
   object's model than under a model of this frame (:data:`DETECT_LLR`), the largest such blob of at least
   :data:`REDETECT_SHARE` of the key area, refined by GrabCut, accepted when it keeps that size.
"""

from __future__ import annotations

import cv2
import numpy as np

from inpaint.runtime.masks.appearance import fit_model, learn_models, log_likelihood
from inpaint.runtime.masks.segment import clean

__all__ = ["MaskTracker", "BAND", "LOST_SHARE", "DETECT_LLR", "REDETECT_SHARE"]

#: half-width of the band GrabCut decides in, as a share of sqrt(object area), at least MIN_BAND px
#: (benchmarks/masks.py: motion errors and shape change per frame stay under it)
BAND = 0.08
MIN_BAND = 3
#: erosion (px at flow size) of the previous mask before its flow vectors are used (DIS's 8 px patches)
FLOW_ERODE = 4
#: the object is gone when GrabCut keeps less than this share of the prediction
LOST_SHARE = 0.15
#: ... or when the prediction holds fewer than this many pixels
MIN_AREA = 16
#: log-likelihood ratio (object model / this frame's model) above which a pixel looks like the object
DETECT_LLR = 2.0
#: a re-found object must cover at least this share of the key frame's object area
REDETECT_SHARE = 0.15
#: log-likelihood ratio that counts as full evidence for the object (the evidence map is LLR / this, in [-1, 1])
EVIDENCE_SCALE = 4.0
#: how far (share of the object's size, plus its last motion) the shift that fits its colours is searched
SEARCH = 0.5
#: pixels of the crop GrabCut cuts at most; a larger crop is cut at a smaller size (the graph cut's time grows
#: with the pixels: a 640x360 frame's object of a quarter of the frame would take ~4x the time)
MAX_CUT_PIXELS = 40_000
#: GrabCut iterations per frame with the object model frozen (OpenCV runs one for GC_EVAL_FREEZE_MODEL)
ITERATIONS = 1


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray | None:
    """2x3 similarity transform src -> dst ((N, 2) float32 points) by RANSAC, or None."""
    if len(src) < 6:
        return None
    m, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.0,
                                             maxIters=200, confidence=0.99)
    if m is None or inliers is None or inliers.sum() < 6:
        return None
    return m


class MaskTracker:
    """The state of one pass (forward or backward from the key frame)."""

    def __init__(self, key_rgb: np.ndarray, key_mask: np.ndarray, freeze_object: bool = True):
        self.size = key_mask.shape
        self.key_area = int(key_mask.sum())
        self.bgd_key, self.fgd = learn_models(key_rgb, key_mask)
        self.freeze_object = freeze_object
        self.flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self.last_flow: np.ndarray | None = None  # (h/2, w/2, 2) float32
        self.motion: np.ndarray | None = None     # 2x3: the object's last frame-to-frame similarity (working px)
        self.prev_small, small_rgb = self._small(key_rgb)
        self.mask = key_mask.copy()
        self.lost = False
        self.bgd_near = self.bgd_key
        self._learn_near(small_rgb)

    def _small(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(grey, rgb) at flow size (half the working size)."""
        small_rgb = cv2.resize(rgb, (self.size[1] // 2, self.size[0] // 2), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(small_rgb, cv2.COLOR_RGB2GRAY), small_rgb

    # -- motion ---------------------------------------------------------------------------------------
    def _initial_flow(self, shape: tuple[int, int]) -> np.ndarray:
        """The flow DIS starts from: the last frame's flow, with the object's last motion where it will be."""
        init = self.last_flow if self.last_flow is not None else np.zeros((*shape, 2), np.float32)
        if self.motion is not None:
            h, w = shape
            prev = cv2.resize(self.mask.view(np.uint8), (w, h), interpolation=cv2.INTER_AREA)
            half = self.motion.copy()
            half[:, 2] /= 2.0
            ahead = cv2.warpAffine(prev, half, (w, h), flags=cv2.INTER_NEAREST)
            region = cv2.dilate(np.maximum(prev, ahead), np.ones((9, 9), np.uint8)) > 0
            ys, xs = np.nonzero(region)
            pts = np.stack([xs, ys], 1).astype(np.float32)
            init = init.copy()
            init[ys, xs] = pts @ half[:, :2].T.astype(np.float32) + half[:, 2].astype(np.float32) - pts
        return np.ascontiguousarray(init, np.float32)

    def _flow_motion(self, small: np.ndarray, prev: np.ndarray) -> np.ndarray:
        """The similarity (flow size) fitted to DIS flow inside the eroded previous mask ``prev`` (uint8)."""
        flow = self.flow.calc(self.prev_small, small, self._initial_flow(small.shape))  # prev -> this frame
        self.last_flow = flow
        inner = cv2.erode(prev, np.ones((2 * FLOW_ERODE + 1,) * 2, np.uint8))
        if inner.sum() < 12:
            inner = prev
        ys, xs = np.nonzero(inner)
        if len(ys) > 3000:  # enough for RANSAC; a fixed stride keeps it repeatable
            step = len(ys) // 3000 + 1
            ys, xs = ys[::step], xs[::step]
        src = np.stack([xs, ys], 1).astype(np.float32)
        m = _similarity(src, src + flow[ys, xs])
        if m is None:  # too few points: the median shift
            d = np.median(flow[ys, xs], axis=0) if len(ys) else np.zeros(2)
            m = np.array([[1, 0, d[0]], [0, 1, d[1]]], np.float64)
        return m.astype(np.float64)

    def _evidence(self, small_rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """(h, w) float32 in [-1, 1] over ``box`` (x0, y0, x1, y1, flow size): how much likelier each pixel's
        colour is under the key object's model than under the previous frame's background model (LLR / 4)."""
        x0, y0, x1, y1 = box
        sh, sw = small_rgb.shape[:2]
        cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(sw, x1), min(sh, y1)
        out = np.zeros((y1 - y0, x1 - x0), np.float32)  # outside the frame: no evidence either way
        if cx1 > cx0 and cy1 > cy0:
            pixels = small_rgb[cy0:cy1, cx0:cx1].reshape(-1, 3)
            llr = log_likelihood(self.fgd, pixels) - log_likelihood(self.bgd_near, pixels)
            out[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0] = np.clip(llr / EVIDENCE_SCALE, -1, 1).reshape(cy1 - cy0, cx1 - cx0)
        return out

    def _predict(self, small: np.ndarray, small_rgb: np.ndarray) -> np.ndarray:
        """The previous mask moved to this frame (working size, bool), by the best-supported of: the flow's
        similarity, the last motion again, and the shift that best lays it over the object's colours."""
        sh, sw = small.shape
        prev = cv2.resize(self.mask.view(np.uint8), (sw, sh), interpolation=cv2.INTER_AREA)
        candidates = [self._flow_motion(small, prev)]
        if self.motion is not None:
            half = self.motion.copy()
            half[:, 2] /= 2.0
            candidates.append(half)
        ys, xs = np.nonzero(prev)
        if len(ys):
            by0, by1, bx0, bx1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
            reach = int(max(by1 - by0, bx1 - bx0) * SEARCH + 4)
            if self.motion is not None:
                reach += int(np.abs(self.motion[:, 2]).max() / 2)
            box = (bx0 - reach, by0 - reach, bx1 + reach, by1 + reach)  # may pass the frame's border
            evidence = self._evidence(small_rgb, box)
            ring = 3
            t = prev[by0:by1, bx0:bx1].astype(np.float32)
            t = np.pad(t, ring) * 2 - (cv2.dilate(np.pad(t, ring), np.ones((2 * ring + 1,) * 2, np.float32)))
            if evidence.shape[0] >= t.shape[0] and evidence.shape[1] >= t.shape[1]:
                scores = cv2.matchTemplate(evidence, t, cv2.TM_CCORR)
                _, _, _, (bx, by) = cv2.minMaxLoc(scores)
                dx, dy = bx + box[0] + ring - bx0, by + box[1] + ring - by0
                candidates.append(np.array([[1, 0, dx], [0, 1, dy]], np.float64))
            best, best_score = candidates[0], -np.inf
            x0, y0, x1, y1 = box
            for m in candidates:  # laid over the evidence in the box's own coordinates
                shifted = m.copy()
                shifted[:, 2] -= (x0, y0)
                moved = cv2.warpAffine(prev, shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_NEAREST,
                                       borderMode=cv2.BORDER_REPLICATE if self._at_edge(prev) else cv2.BORDER_CONSTANT)
                kernel = 2.0 * moved - cv2.dilate(moved, np.ones((2 * ring + 1,) * 2, np.uint8))  # +1 in, -1 rim
                score = float((evidence * kernel).sum()) / max(1.0, float(moved.sum()) ** 0.5)
                if score > best_score:
                    best, best_score = m, score
        else:
            best = candidates[0]
        m = best.copy()
        m[:, 2] *= 2.0  # flow size -> working size (the linear part is scale-free)
        self.motion = m
        h, w = self.size
        # BORDER_REPLICATE: a mask that touches the frame's edge goes on past it, so an object coming in
        # brings its hidden part with it
        warped = cv2.warpAffine(self.mask.view(np.uint8) * np.uint8(255), m, (w, h), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
        return warped >= 128

    @staticmethod
    def _at_edge(mask: np.ndarray) -> bool:
        return bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())

    def _learn_near(self, small_rgb: np.ndarray) -> None:
        """The background model near the object (flow size), from this frame's pixels around its mask."""
        sh, sw = small_rgb.shape[:2]
        m = cv2.resize(self.mask.view(np.uint8), (sw, sh), interpolation=cv2.INTER_NEAREST)
        if not m.any():
            return
        ys, xs = np.nonzero(m)
        pad = int(max(ys.max() - ys.min(), xs.max() - xs.min()) * 0.5 + 4)
        y0, y1, x0, x1 = max(0, ys.min() - pad), min(sh, ys.max() + 1 + pad), max(0, xs.min() - pad), min(sw, xs.max() + 1 + pad)
        outside = cv2.dilate(m, np.ones((5, 5), np.uint8))[y0:y1, x0:x1] == 0
        pixels = small_rgb[y0:y1, x0:x1][outside]
        if len(pixels) >= 50:
            self.bgd_near = fit_model(pixels)

    # -- shape ----------------------------------------------------------------------------------------
    def _segment(self, rgb: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        area = int(predicted.sum())
        band = max(MIN_BAND, int(round(BAND * np.sqrt(area))))
        ys, xs = np.nonzero(predicted)
        h, w = self.size
        pad = 2 * band + 4
        y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + 1 + pad)
        x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + 1 + pad)
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        pred = predicted[y0:y1, x0:x1].view(np.uint8)
        scale = min(1.0, float(np.sqrt(MAX_CUT_PIXELS / pred.size)))
        if scale < 1:  # a large object: the cut runs on a smaller copy of the crop (the band scales with it)
            k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1,) * 2)
            near_full, core_full = cv2.dilate(pred, k), cv2.erode(pred, k)
            size = (max(8, int(round((x1 - x0) * scale))), max(8, int(round((y1 - y0) * scale))))
            crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
            pred = cv2.resize(pred, size, interpolation=cv2.INTER_NEAREST)
            band = max(MIN_BAND, int(round(band * scale)))
        near = cv2.dilate(pred, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1,) * 2))
        core = cv2.erode(pred, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1,) * 2))
        trimap = np.full(pred.shape, cv2.GC_BGD, np.uint8)
        trimap[near > 0] = cv2.GC_PR_BGD
        trimap[pred > 0] = cv2.GC_PR_FGD
        trimap[core > 0] = cv2.GC_FGD
        if not (trimap == cv2.GC_BGD).any() and not (trimap == cv2.GC_PR_BGD).any():
            return predicted
        background = (trimap == cv2.GC_BGD) | (trimap == cv2.GC_PR_BGD)
        bgd = fit_model(crop[background])  # this frame's background, near the object
        fgd = self.fgd.copy() if self.freeze_object else fit_model(crop[~background])
        cv2.setRNGSeed(0)
        try:
            cv2.grabCut(crop, trimap, None, bgd, fgd, ITERATIONS, cv2.GC_EVAL_FREEZE_MODEL)
        except cv2.error:
            return predicted
        found = (trimap == cv2.GC_FGD) | (trimap == cv2.GC_PR_FGD)
        if scale < 1:
            found = cv2.resize(found.view(np.uint8), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) > 0
            found &= near_full > 0
            found |= core_full > 0
        out = np.zeros(self.size, bool)
        out[y0:y1, x0:x1] = found
        return clean(out)

    # -- gone and back --------------------------------------------------------------------------------
    def _redetect(self, rgb: np.ndarray) -> np.ndarray:
        h, w = self.size
        small = cv2.resize(rgb, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
        pixels = small.reshape(-1, 3)
        frame_model = fit_model(pixels)
        llr = (log_likelihood(self.fgd, pixels) - log_likelihood(frame_model, pixels)).reshape(small.shape[:2])
        hits = (llr > DETECT_LLR).astype(np.uint8)
        hits = cv2.morphologyEx(hits, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        n, labels, stats, _ = cv2.connectedComponentsWithStats(hits, connectivity=8)
        need = REDETECT_SHARE * self.key_area / 16  # the key area at quarter size
        if n <= 1 or stats[1:, cv2.CC_STAT_AREA].max() < need:
            return np.zeros(self.size, bool)
        blob = (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
        blob = cv2.resize(blob, (w, h), interpolation=cv2.INTER_NEAREST) > 0
        found = self._segment(rgb, blob)
        return found if found.sum() >= REDETECT_SHARE * self.key_area else np.zeros(self.size, bool)

    def step(self, rgb: np.ndarray) -> np.ndarray:
        """The object's mask on the next frame: (H, W) bool (a new array), empty while the object is gone."""
        small, small_rgb = self._small(rgb)
        if self.lost:
            mask = self._redetect(rgb)
        else:
            predicted = self._predict(small, small_rgb)
            if predicted.sum() < MIN_AREA:
                mask = np.zeros(self.size, bool)
            else:
                mask = self._segment(rgb, predicted)
                if mask.sum() < LOST_SHARE * predicted.sum():
                    mask = np.zeros(self.size, bool)
        self.lost = not mask.any()
        if self.lost:
            self.motion = None
        self.mask = mask
        self.prev_small = small
        self._learn_near(small_rgb)
        return mask.copy()
