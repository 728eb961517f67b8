"""SIGTERM: ``inpaint serve`` stops taking connections, answers every request in flight, then exits 0."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from tests.serve.server import Server, box_mask, decode_png, photo, png  # noqa: E402

pytestmark = pytest.mark.slow  # a server of its own: about 6 s on 2 cores

REQUESTS = 6


def test_sigterm_drains_requests_in_flight_and_exits_0():
    jobs = [(photo(seed=20 + i), box_mask()) for i in range(REQUESTS)]
    with Server("--max-batch", "1") as server:  # one at a time: the queue stays long while SIGTERM arrives

        def one(job):
            rgb, hole = job
            with httpx.Client(base_url=server.url, timeout=120) as client:
                return client.post("/v1/inpaint", files={"image": ("p.png", png(rgb)), "mask": ("m.png", png(hole))})

        with ThreadPoolExecutor(REQUESTS) as pool:
            futures = [pool.submit(one, job) for job in jobs]
            deadline = time.monotonic() + 60
            while httpx.get(server.url + "/healthz").json()["queue"] < REQUESTS - 1:
                assert time.monotonic() < deadline, "the requests never queued"
                assert not all(f.done() for f in futures), "the requests finished before SIGTERM could be sent"
                time.sleep(0.01)
            server.proc.terminate()  # SIGTERM with most of them queued or running
            time.sleep(0.3)
            with pytest.raises(httpx.TransportError):  # no new connection once draining
                httpx.get(server.url + "/healthz", timeout=2)
            responses = [f.result() for f in futures]
        code = server.stop()
        log = server.log
    assert code == 0, log
    for (rgb, hole), response in zip(jobs, responses):
        assert response.status_code == 200, response.text
        out = decode_png(response.content)
        assert np.array_equal(out[~hole], rgb[~hole]) and (out[hole] != rgb[hole]).any()
    assert "Shutting down" in log and "Application shutdown complete" in log
