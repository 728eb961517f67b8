"""The request queue with a fake model: grouping by size and options, batch cap, order, failures, bounds, stop."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from inpaint.serve.batcher import Batcher, Options, QueueFull


class FakeModel:
    """Records each call's (shapes, options); returns rgb + 1 (so results are told apart); ``gate`` holds calls."""

    def __init__(self, fail_on: int | None = None):
        self.calls: list[tuple[list[tuple[int, ...]], Options]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail_on = fail_on

    def __call__(self, rgbs, holes, options):
        self.gate.wait(10)
        self.calls.append(([r.shape for r in rgbs], options))
        if self.fail_on is not None and len(rgbs) > 1 and any(r[0, 0, 0] == self.fail_on for r in rgbs):
            raise RuntimeError("out of memory")
        if self.fail_on is not None and any(r[0, 0, 0] == self.fail_on for r in rgbs):
            raise ValueError("bad picture")
        return [r + 1 for r in rgbs]


def _pic(h: int, w: int, value: int = 0) -> tuple[np.ndarray, np.ndarray]:
    return np.full((h, w, 3), value, np.uint8), np.ones((h, w), bool)


def _wait_until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def _held(model: FakeModel, max_batch: int, **kw) -> Batcher:
    """A started batcher whose first call blocks until ``model.gate`` is set (so that requests pile up)."""
    batcher = Batcher(model, max_batch=max_batch, **kw)
    model.gate.clear()
    batcher.start()
    return batcher


def test_queued_requests_run_in_batches_of_equal_size_and_options_up_to_max_batch():
    model = FakeModel()
    batcher = _held(model, max_batch=3)
    first = batcher.submit(*_pic(8, 8), Options())  # taken at once, blocks on the gate
    _wait_until(lambda: batcher._running and not batcher._pending)
    jobs = [(8, 8, Options()), (4, 6, Options()), (8, 8, Options()), (8, 8, Options(texture=0.0)),
            (8, 8, Options()), (8, 8, Options()), (4, 6, Options())]
    futures = [batcher.submit(*_pic(h, w, i + 1), o) for i, (h, w, o) in enumerate(jobs)]
    assert batcher.queued == 8
    model.gate.set()
    results = [f.result(10) for f in futures]
    first.result(10)
    batcher.stop(10)
    for i, ((h, w, _), (out, size)) in enumerate(zip(jobs, results)):
        assert out.shape == (h, w, 3) and out[0, 0, 0] == i + 2  # its own picture, + 1
    assert [(shapes, o) for shapes, o in model.calls[1:]] == [
        ([(8, 8, 3)] * 3, Options()),  # the oldest's key, up to 3, in arrival order
        ([(4, 6, 3)] * 2, Options()),
        ([(8, 8, 3)], Options(texture=0.0)),
        ([(8, 8, 3)], Options()),
    ]
    assert [size for _, size in results] == [3, 2, 3, 1, 3, 1, 2]
    assert batcher.queued == 0


def test_a_failed_batch_fails_only_the_bad_picture():
    model = FakeModel(fail_on=7)
    batcher = _held(model, max_batch=4)
    blocker = batcher.submit(*_pic(5, 5), Options())
    _wait_until(lambda: batcher._running and not batcher._pending)
    futures = [batcher.submit(*_pic(6, 6, v), Options()) for v in (1, 7, 3)]
    model.gate.set()
    blocker.result(10)
    assert futures[0].result(10)[0][0, 0, 0] == 2 and futures[2].result(10)[0][0, 0, 0] == 4
    with pytest.raises(ValueError, match="bad picture"):
        futures[1].result(10)
    batcher.stop(10)


def test_queue_bounds_refuse_with_queue_full_but_an_empty_queue_takes_any_picture():
    model = FakeModel()
    batcher = _held(model, max_batch=1, max_queue=3, max_pixels=200)
    big = batcher.submit(*_pic(20, 20), Options())  # 400 px > 200: admitted, the queue was empty
    with pytest.raises(QueueFull, match="megapixels"):
        batcher.submit(*_pic(2, 2), Options())
    model.gate.set()
    big.result(10)
    small = Batcher(FakeModel(), max_batch=1, max_queue=2)
    small._running = [object()]  # one running (not started: nothing takes from the queue)
    small.submit(*_pic(2, 2), Options())
    with pytest.raises(QueueFull, match="2 requests"):
        small.submit(*_pic(2, 2), Options())
    batcher.stop(10)


def test_stop_runs_what_is_queued_then_refuses():
    model = FakeModel()
    batcher = _held(model, max_batch=2)
    futures = [batcher.submit(*_pic(3, 3, v), Options()) for v in range(5)]
    stopper = threading.Thread(target=batcher.stop, args=(10,))
    stopper.start()
    model.gate.set()
    stopper.join(10)
    assert [f.result(0)[0][0, 0, 0] for f in futures] == [1, 2, 3, 4, 5]
    with pytest.raises(RuntimeError, match="shutting down"):
        batcher.submit(*_pic(3, 3), Options())
