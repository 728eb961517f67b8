"""The pipeline keeps one batch in flight (Runner.infer_async): batch k + 1 is submitted before batch k is
collected, saves stay in order, and a batch whose result fails is retried one picture at a time."""

from __future__ import annotations

import numpy as np

from inpaint.runtime.backends.base import Pending
from inpaint.runtime.pipeline import run_pipeline
from tests.runtime.fakes import FillRunner
from tests.runtime.test_pipeline import ListSource, _hole, _rgb


class AsyncRecorder(FillRunner):
    """FillRunner whose infer_async defers the work and logs ("submit", k) / ("result", k)."""

    def __init__(self, fail_batches=()):
        super().__init__(stride=8)
        self.log, self.count, self.fail_batches = [], 0, set(fail_batches)

    def infer_async(self, image, mask):
        k, self.count = self.count, self.count + 1
        self.log.append(("submit", k, image.shape[0]))

        def wait():
            self.log.append(("result", k))
            if k in self.fail_batches:
                raise MemoryError("out of device memory (fake)")
            return self.infer(image, mask)

        return Pending(wait=wait)


def _frames(n, h=16, w=24):
    return [(f"f{i:02d}", _rgb(h, w, i), _hole(h, w)) for i in range(n)]


def test_next_batch_is_submitted_before_the_previous_is_collected():
    runner = AsyncRecorder()
    source = ListSource(_frames(6))
    with runner:
        report = run_pipeline(runner, source, batch=2, texture="off")
    assert report.ok and report.written == [f"f{i:02d}" for i in range(6)]  # saved in order
    events = [e[:2] for e in runner.log]
    assert events == [("submit", 0), ("submit", 1), ("result", 0), ("submit", 2), ("result", 1), ("result", 2)]
    for name, rgb, hole in source.frames:  # known pixels are the input's, holes filled
        out = source.saved[name].rgb
        np.testing.assert_array_equal(out[~hole], rgb[~hole])
        assert (out[hole] == 128).all()


def test_failed_batch_result_is_retried_one_at_a_time_in_order():
    runner = AsyncRecorder(fail_batches={1})
    source = ListSource(_frames(6))
    with runner:
        report = run_pipeline(runner, source, batch=2)
    assert report.ok and report.written == [f"f{i:02d}" for i in range(6)]
    assert [e[2] for e in runner.log if e[0] == "submit"] == [2, 2, 2, 1, 1]  # batch 1 again, picture by picture
