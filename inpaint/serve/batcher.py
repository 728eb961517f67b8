"""The request queue: one worker thread runs the model on queued pictures, equal sizes together.

    batcher = Batcher(run, max_batch=4)          # run(rgbs, holes, options) -> results, e.g. Inpainter.inpaint_batch
    batcher.start()
    future = batcher.submit(rgb, hole, Options("auto", 0, "on"))   # concurrent.futures.Future
    out, batch_size = await asyncio.wrap_future(future)
    batcher.stop()

Requests arrive on the event loop with their pictures already decoded (a slow upload never reaches
the queue half-received). The worker takes the oldest request and, with it, up to ``max_batch - 1``
later ones of the same key (height, width, dtype, options), and runs them as one call: batches form
from what queued while the model was busy, so no request waits for a batch to fill. A batch that
fails runs its pictures one at a time, so that one bad picture fails only its own request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Batcher", "Options", "QueueFull"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    """What a request asks of the model, as :meth:`inpaint.runtime.inpainter.Inpainter.inpaint` takes it."""

    strategy: str = "auto"
    dilate: int = 0
    texture: str | float = "on"


class QueueFull(Exception):
    """The queue holds ``max_queue`` requests already; the client should retry later."""


@dataclass(eq=False)
class _Job:
    rgb: np.ndarray
    hole: np.ndarray
    options: Options
    future: Future = field(default_factory=Future)

    @property
    def key(self) -> tuple:
        return (self.rgb.shape, self.rgb.dtype.str, self.options)


#: run(rgbs, holes, options) -> one result per picture, in order: each (H, W, 3) like its rgb
RunBatch = Callable[[Sequence[np.ndarray], Sequence[np.ndarray], Options], list[np.ndarray]]


class Batcher:
    """A FIFO of pictures and the one thread that runs them.

    run: the model call (called on the worker thread only, never concurrently).
    max_batch: at most this many pictures per call (>= 1).
    max_queue: :meth:`submit` raises :class:`QueueFull` when this many requests wait or run (>= 1).
    max_pixels: ... or when the pictures waiting or running would exceed this many pixels (H x W each);
        None: no bound. A picture is always admitted into an empty queue.
    """

    def __init__(self, run: RunBatch, max_batch: int = 4, max_queue: int = 64, max_pixels: int | None = None):
        if max_batch < 1 or max_queue < 1:
            raise ValueError(f"max_batch and max_queue must be >= 1, got {max_batch} and {max_queue}")
        self._run, self.max_batch, self.max_queue, self.max_pixels = run, max_batch, max_queue, max_pixels
        self._pending: list[_Job] = []
        self._running: list[_Job] = []
        self._stopping = False
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    @property
    def queued(self) -> int:
        """Requests waiting or running now."""
        with self._cond:
            return len(self._pending) + len(self._running)

    def _pixels(self) -> int:
        return sum(j.rgb.shape[0] * j.rgb.shape[1] for j in (*self._pending, *self._running))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="inpaint-batcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Run what is queued, then end the worker thread (waits up to ``timeout`` seconds)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def submit(self, rgb: np.ndarray, hole: np.ndarray, options: Options) -> Future:
        """Queue one picture. rgb: (H, W, 3) uint8/uint16; hole: (H, W) bool, True = remove.

        Returns a Future of (result (H, W, 3) like ``rgb``, size of the batch it ran in); its exception
        is the model call's. Raises QueueFull, or RuntimeError after :meth:`stop`.
        """
        job = _Job(rgb, hole, options)
        with self._cond:
            if self._stopping:
                raise RuntimeError("the server is shutting down")
            queued = len(self._pending) + len(self._running)
            if queued >= self.max_queue:
                raise QueueFull(f"{self.max_queue} requests are queued already")
            pixels = rgb.shape[0] * rgb.shape[1]
            if queued and self.max_pixels is not None and self._pixels() + pixels > self.max_pixels:
                raise QueueFull(f"the queued pictures hold {self._pixels() / 1e6:.0f} megapixels already")
            self._pending.append(job)
            self._cond.notify()
        return job.future

    def _take(self) -> list[_Job] | None:
        """The next batch: the oldest job and later ones with its key; None when stopped and empty."""
        with self._cond:
            while not self._pending and not self._stopping:
                self._cond.wait()
            if not self._pending:
                return None
            key = self._pending[0].key
            group = [j for j in self._pending if j.key == key][: self.max_batch]
            taken = set(map(id, group))
            self._pending = [j for j in self._pending if id(j) not in taken]
            self._running = group
            return group

    def _work(self) -> None:
        while (group := self._take()) is not None:
            group = [j for j in group if j.future.set_running_or_notify_cancel()]
            try:
                if group:
                    self._run_group(group)
            finally:
                with self._cond:
                    self._running = []

    def _run_group(self, group: list[_Job]) -> None:
        try:
            results = self._run([j.rgb for j in group], [j.hole for j in group], group[0].options)
        except Exception as exc:  # noqa: BLE001  a failed batch: its pictures alone, one failure each
            if len(group) == 1:
                group[0].future.set_exception(exc)
                return
            _log.warning("a batch of %d failed (%s); running its pictures one at a time", len(group), exc)
            for job in group:
                self._run_group([job])
            return
        for job, out in zip(group, results):
            job.future.set_result((out, len(group)))
