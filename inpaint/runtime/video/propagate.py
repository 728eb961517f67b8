"""Flow-guided propagation (the default for clips): fill each hole with what the other frames show.

After FGVC (Gao et al., ECCV 2020), on a sliding window of frames so memory stays flat over any length:

1. Between neighbouring frames, forward and backward flows completed inside the holes, with their
   forward-backward check (:mod:`inpaint.runtime.video.flow`; computed once, when a trajectory first needs
   them). A scene cut between two frames (:func:`inpaint.runtime.video.temporal.is_scene_cut`) has no flow:
   every trajectory ends there.
2. Each hole pixel of frame t follows the chained flow forward (t+1, t+2, ... up to :data:`REACH` frames)
   and backward, and stops at the first frame where it lands on a known pixel (its four bilinear
   neighbours outside that frame's hole) having passed the check at every step; the value found there is
   a candidate. The forward and backward candidates are blended by 1 / distance in frames.
3. What no trajectory reached is **carried** from the previous OUTPUT frame along the backward flow (when
   no cut lies between, and the check passes): a fill made once (by the model, or found beyond the
   window) stays put instead of being redone, and flickering, in every frame. A pixel carried between
   pixels :data:`CARRY_RESAMPLINGS` times in a row goes back to the model (flow errors add up); one
   carried by whole pixels (a still camera) is copied exactly, for ever.
4. Seams: the same trajectories run from a ring of :data:`RING_PX` known pixels around the hole; the
   difference (frame - candidate) there (exposure changes, codec noise; differences over
   :data:`SEAM_MAX` levels are mismatches and left out) is spread smoothly over the hole by a push-pull
   fill (a membrane of the boundary difference) and added to the filled pixels.
5. The hole pixels left (no frame shows them and the previous output cannot be carried: the first frame
   of a shot, a still camera with a static mask) are for the image model, :attr:`Fill.rest`.

Use: :meth:`Propagator.add` frames in order; while :meth:`Propagator.pending`, take :meth:`Propagator.fill`,
complete its ``rest`` (the model) and hand the final frame to :meth:`Propagator.commit`. At most
``2 * reach + 1`` frames (and the flows between them) are held.

Frames: (H, W, 3) uint8 RGB; holes (H, W) bool, True = hole. Known pixels are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from inpaint.runtime.baselines import push_pull_fill
from inpaint.runtime.video.flow import PairFlow, pair_flows, sample
from inpaint.runtime.video.temporal import grey, is_scene_cut

__all__ = ["Propagator", "Fill", "REACH", "RING_PX", "SEAM_MAX"]

#: frames a trajectory may go each way: the window holds 2 * REACH + 1 = 25 frames, ~23 bytes a pixel each
#: with their flows (~150 MB at 512x512, ~1.2 GB at 1920x1080). FGVC and ProPainter use windows of 10-80 frames
REACH = 12
#: a carried pixel is resampled (taken between pixels) at most this many times in a row, then the model
#: fills it afresh. On the benchmark's pan + logo the carried fill loses ~1 dB a resampling (flow errors
#: add up); 4 keeps it within ~3 dB of a fresh fill and leaves the model most frames
CARRY_RESAMPLINGS = 4
#: a carried pixel moving less than this (px, per component) is copied, not resampled: DIS's flow on a
#: still shot with sensor noise (std 3) wanders by 0.1-0.3 px (the benchmark's still + logo clip)
CARRY_STILL_PX = 0.5
#: width (px) of the known ring around the hole whose difference to its candidates corrects the seam
RING_PX = 2
#: a ring difference over this many grey levels (any channel) is a mismatch, not an exposure change
SEAM_MAX = 32


@dataclass
class Fill:
    """Frame ``index`` after propagation. image: rgb with the hole's propagated / carried pixels;
    rest: (H, W) bool, the hole pixels still to fill (by the model); seen / carried: pixel counts;
    from_frames: (H, W) bool, the hole pixels taken from other frames (None: the hole is empty)."""

    index: int
    payload: object
    rgb: np.ndarray
    hole: np.ndarray
    image: np.ndarray
    rest: np.ndarray
    seen: int = 0
    carried: int = 0
    from_frames: np.ndarray | None = None


@dataclass
class _Frame:
    rgb: np.ndarray
    grey: np.ndarray
    hole: np.ndarray
    payload: object


def _grow(hole: np.ndarray, px: int) -> np.ndarray:
    return cv2.dilate(hole.view(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)).astype(bool)


def _visible(hole: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """(N,) bool: the bilinear neighbours of each point (xs, ys) are all outside ``hole``."""
    h, w = hole.shape
    x0, y0 = np.floor(xs).astype(np.intp), np.floor(ys).astype(np.intp)
    x1, y1 = np.ceil(xs).astype(np.intp), np.ceil(ys).astype(np.intp)
    x0, x1, y0, y1 = (np.clip(a, 0, n - 1) for a, n in ((x0, w), (x1, w), (y0, h), (y1, h)))
    return ~(hole[y0, x0] | hole[y0, x1] | hole[y1, x0] | hole[y1, x1])


class Propagator:
    """The sliding window (see the module's docstring). reach: frames each way (>= 1); carry: step 3."""

    def __init__(self, reach: int = REACH, carry: bool = True):
        if reach < 1:
            raise ValueError(f"reach must be >= 1, got {reach}")
        self.reach, self.carry = reach, carry
        self._frames: dict[int, _Frame] = {}
        self._pairs: dict[int, PairFlow | None] = {}  # k: flows between frames k and k + 1 (None: a cut)
        self._cuts: set[int] = set()
        self._added = 0
        self._next = 0
        self._previous: np.ndarray | None = None  # the committed output of frame _next - 1
        self._age: np.ndarray | None = None  # (H, W) uint8: resamplings behind each pixel of _previous
        self._pending_age: np.ndarray | None = None  # the ages of the frame fill() returned last
        #: pixels filled from other frames / carried from the previous output / left to the model; scene cuts
        self.stats = {"seen": 0, "carried": 0, "model": 0, "cuts": 0}

    @property
    def held(self) -> int:
        """Frames in the window now."""
        return len(self._frames)

    def add(self, rgb: np.ndarray, hole: np.ndarray, payload: object = None) -> None:
        """Append the next frame of the clip (its hole as the model will see it)."""
        k = self._added
        frame = _Frame(rgb, grey(rgb), np.asarray(hole, bool), payload)
        before = self._frames.get(k - 1)
        if before is not None and before.rgb.shape != rgb.shape:
            raise ValueError(f"frame {k} is {rgb.shape[:2]}, frame {k - 1} {before.rgb.shape[:2]}")
        if before is not None and is_scene_cut(before.grey, frame.grey):
            self._cuts.add(k - 1)
            self.stats["cuts"] += 1
        self._frames[k] = frame
        self._added += 1

    def pending(self, final: bool = False) -> bool:
        """A frame can be filled: ``reach`` frames after it have been added (or ``final``: the clip ended)."""
        return self._next < self._added and (final or self._added - 1 >= self._next + self.reach)

    def _pair(self, k: int) -> PairFlow | None:
        if k in self._cuts:
            return None
        if k not in self._pairs:
            a, b = self._frames[k], self._frames[k + 1]
            self._pairs[k] = pair_flows(a.grey, b.grey, a.hole, b.hole)
        return self._pairs[k]

    def _trace(self, t: int, xs: np.ndarray, ys: np.ndarray, direction: int) -> tuple[np.ndarray, np.ndarray]:
        """Follow the points of frame t forward (+1) or backward (-1). Returns (values (N, 3) float32,
        distance (N,) int: frames to the one the value comes from, 0 = none found)."""
        n = xs.shape[0]
        h, w = self._frames[t].hole.shape
        px, py = xs.astype(np.float32), ys.astype(np.float32)
        alive = np.ones(n, bool)
        values = np.zeros((n, 3), np.float32)
        distance = np.zeros(n, np.int32)
        k = t
        for step in range(1, self.reach + 1):
            nxt = k + direction
            if nxt not in self._frames:
                break
            pair = self._pair(min(k, nxt))
            if pair is None:
                break
            flow, ok = (pair.forward, pair.forward_ok) if direction > 0 else (pair.backward, pair.backward_ok)
            idx = np.flatnonzero(alive)
            f = sample(flow, px[idx], py[idx])
            good = sample(ok, px[idx], py[idx], nearest=True)
            nx, ny = px[idx] + f[:, 0], py[idx] + f[:, 1]
            good &= (nx >= 0) & (nx <= w - 1) & (ny >= 0) & (ny <= h - 1)
            alive[idx[~good]] = False
            idx, nx, ny = idx[good], nx[good], ny[good]
            px[idx], py[idx] = nx, ny
            target = self._frames[nxt]
            hit = _visible(target.hole, nx, ny)
            found = idx[hit]
            values[found] = sample(target.rgb, nx[hit], ny[hit])
            distance[found] = step
            alive[found] = False
            if not alive.any():
                break
            k = nxt
        return values, distance

    def _carry(self, t: int, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Values (N, 3) of the previous output along the backward flow, (N,) bool where that holds, and
        (N,) the resamplings the carried values have behind them."""
        n = xs.shape[0]
        none = (np.zeros((n, 3), np.float32), np.zeros(n, bool), np.zeros(n, np.int32))
        if not self.carry or self._previous is None or n == 0 or (t - 1) not in self._frames:
            return none
        pair = self._pair(t - 1)
        if pair is None:
            return none
        h, w = self._frames[t].hole.shape
        fx, fy = xs.astype(np.float32), ys.astype(np.float32)
        f = sample(pair.backward, fx, fy)
        # under CARRY_STILL_PX the motion is DIS's noise on a still shot: copy the pixel (no resampling)
        f = np.where(np.abs(f) < CARRY_STILL_PX, 0.0, f).astype(np.float32)
        nx, ny = fx + f[:, 0], fy + f[:, 1]
        good = sample(pair.backward_ok, fx, fy, nearest=True) & (nx >= 0) & (nx <= w - 1) & (ny >= 0) & (ny <= h - 1)
        # a sample between pixels resamples (and a flow error moves) the fill: after CARRY_RESAMPLINGS of
        # them the pixel goes to the model again; whole-pixel motion (a still camera) copies it for ever
        between = (nx != np.rint(nx)) | (ny != np.rint(ny))
        age = sample(self._age, nx, ny, nearest=True).astype(np.int32) + between
        good &= age <= CARRY_RESAMPLINGS
        values = np.zeros((n, 3), np.float32)
        values[good] = sample(self._previous, nx[good], ny[good])
        return values, good, age

    def fill(self) -> Fill:
        """Propagate into the next frame's hole (call only while :meth:`pending`)."""
        t = self._next
        frame = self._frames[t]
        hole = frame.hole
        if not hole.any():
            self._pending_age = np.zeros(hole.shape, np.uint8)
            return Fill(t, frame.payload, frame.rgb, hole, frame.rgb, hole)
        ring = _grow(hole, RING_PX) & ~hole
        ys, xs = np.nonzero(hole | ring)
        in_hole = hole[ys, xs]
        vf, df = self._trace(t, xs, ys, +1)
        vb, db = self._trace(t, xs, ys, -1)
        wf = np.where(df > 0, 1.0 / np.maximum(df, 1), 0.0).astype(np.float32)[:, None]
        wb = np.where(db > 0, 1.0 / np.maximum(db, 1), 0.0).astype(np.float32)[:, None]
        total = wf + wb
        values = (vf * wf + vb * wb) / np.maximum(total, 1e-12)
        found = total[:, 0] > 0
        seen = int((found & in_hole).sum())
        todo = np.flatnonzero(~found & in_hole)
        carried_values, carried, carried_age = self._carry(t, xs[todo], ys[todo])
        age = np.zeros(hole.shape, np.uint8)
        age[ys[todo[carried]], xs[todo[carried]]] = carried_age[carried]
        self._pending_age = age
        values[todo[carried]] = carried_values[carried]
        found[todo[carried]] = True
        values = self._seam(frame.rgb, hole, xs, ys, in_hole, found, values)
        image = frame.rgb.copy()
        sel = found & in_hole
        image[ys[sel], xs[sel]] = np.clip(np.rint(values[sel]), 0, 255).astype(np.uint8)
        rest = hole.copy()
        rest[ys[sel], xs[sel]] = False
        n_carried = int(carried.sum())
        from_frames = np.zeros_like(hole)
        direct = (total[:, 0] > 0) & in_hole
        from_frames[ys[direct], xs[direct]] = True
        self.stats["seen"] += seen
        self.stats["carried"] += n_carried
        self.stats["model"] += int(rest.sum())
        return Fill(t, frame.payload, frame.rgb, hole, image, rest, seen, n_carried, from_frames)

    @staticmethod
    def _seam(rgb, hole, xs, ys, in_hole, found, values) -> np.ndarray:
        """Add the membrane of the ring's difference (frame - candidate) to the hole's candidates."""
        ring = found & ~in_hole
        if not ring.any() or not (found & in_hole).any():
            return values
        diff = rgb[ys[ring], xs[ring]].astype(np.float32) - values[ring]
        keep = np.abs(diff).max(1) <= SEAM_MAX
        if not keep.any():
            return values
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        field = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
        known = np.zeros(field.shape[:2], bool)
        ry, rx = ys[ring][keep] - y0, xs[ring][keep] - x0
        field[ry, rx] = diff[keep]
        known[ry, rx] = True
        smooth = push_pull_fill(field, known)
        sel = found & in_hole
        out = values.copy()
        out[sel] += smooth[ys[sel] - y0, xs[sel] - x0].astype(np.float32)
        return out

    def commit(self, output: np.ndarray) -> None:
        """The final frame of the last :meth:`fill` (its rest filled): carried into the next one, and the
        window moves on (frames more than ``reach`` behind are dropped)."""
        t = self._next
        self._previous, self._age = output, self._pending_age
        self._next += 1
        old = t - self.reach
        self._frames.pop(old, None)
        self._pairs.pop(old, None)
        self._pairs.pop(old - 1, None)
        self._cuts.discard(old - 1)
