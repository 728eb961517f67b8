"""Repair a clip's frame timestamps into a strictly increasing sequence that keeps its duration.

Real clips break timestamps in three ways (../shared/VIDEO.md): AVIs with packed B-frames decode with
presentation times out of order (1, 2, 3, 5, 4, ...), some muxers repeat a time, and some frames come
without one. The encoder and the mp4 muxer need strictly increasing times, and the user needs the clip's
timing kept (variable frame rate included). :class:`TimestampRepair` works in a bounded window, so a
clip of any length costs the same memory:

- out of order: the frames keep their decoded (display) order and take the window's times in sorted
  order, so a swapped pair 5, 4 becomes 4, 5 and no time is lost or invented;
- a repeated or missing time: spread evenly between the last time given out and the next larger time
  in the window (the end of the clip: one nominal frame duration later);
- every time given out is larger than the previous one.

Times are integers in the caller's time base (:func:`repair_time_base` gives one fine enough to put a
repaired time between two neighbours).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from fractions import Fraction

__all__ = ["TimestampRepair", "repair_time_base", "REORDER_WINDOW"]

#: frames looked ahead to put out-of-order times back in order. FFmpeg's H.264 decoder reorders at
#: most 16 frames (the largest DPB), so a window of 16 covers any reordering a decoder can cause.
REORDER_WINDOW = 16

#: a time base coarser than this many ticks per second is refined (1/25 -> 1/1000)
FINE_TICKS_PER_SECOND = 1000


def repair_time_base(time_base: Fraction) -> tuple[Fraction, int]:
    """(output time base, factor): a time base at least 1/1000 s fine, and the integer that times in
    ``time_base`` are multiplied by. E.g. an AVI's 1/25 -> (1/1000, 40); 1/12800 -> (1/12800, 1)."""
    tb = Fraction(time_base)
    factor = max(1, math.ceil(tb * FINE_TICKS_PER_SECOND))
    return tb / factor, factor


class TimestampRepair:
    """Streaming repair: :meth:`push` each decoded frame's time (int or None), get back the repaired
    times of the frames that left the window, in order; :meth:`finish` gives the rest.

    nominal: one frame's duration in ticks (from the stream's average rate), used where nothing later
        tells the time (a missing time at the end of the clip); None: the median of the times seen.
    window: frames held back, >= 1.
    """

    def __init__(self, nominal: int | None = None, window: int = REORDER_WINDOW):
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window = window
        self.nominal = nominal if nominal and nominal > 0 else None
        self._pending: deque[int | None] = deque()
        self._heap: list[int] = []  # the valid times of the pending frames
        self._last: int | None = None
        self._steps: list[int] = []  # recent positive steps, for a nominal duration
        #: frames whose time was changed (moved, filled in or spread), for a warning
        self.repaired = 0

    def push(self, pts: int | None) -> list[int]:
        self._pending.append(pts)
        if pts is not None:
            heapq.heappush(self._heap, pts)
        out = []
        while len(self._pending) > self.window:
            out.append(self._emit())
        return out

    def finish(self) -> list[int]:
        out = []
        while self._pending:
            out.append(self._emit())
        return out

    def step(self) -> int:
        """One frame's duration in ticks: ``nominal``, else the median step seen so far, else 1."""
        if self.nominal:
            return self.nominal
        if self._steps:
            return sorted(self._steps)[len(self._steps) // 2]
        return 1

    def _emit(self) -> int:
        own = self._pending.popleft()
        c = heapq.heappop(self._heap) if own is not None else None
        last = self._last
        if last is None:
            t = c if c is not None else (min(self._heap) - self.step() if self._heap else 0)
        elif c is not None and c > last:
            t = c
        else:
            later = [v for v in self._heap if v > last]
            if later:
                # this frame and the ones right after it that also have no time after ``last`` share the gap
                stuck = 1
                for v in self._pending:
                    if v is not None and v > last:
                        break
                    stuck += 1
                t = last + max(1, (min(later) - last) // (stuck + 1))
            else:
                t = last + self.step()
        if last is not None and t <= last:
            t = last + 1
        if own is None or t != own:
            self.repaired += 1
        if last is not None:
            self._steps = (self._steps + [t - last])[-32:]
        self._last = t
        return t
