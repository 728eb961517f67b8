"""``inpaint serve`` under load: requests a second and p50 / p99 latency for 1, 4 and 16 concurrent clients.

A real server in a subprocess (``python -m inpaint.cli.main serve``, the bundled model, ONNX Runtime on
the CPU), 512x512 photos (a gradient with noise and a disc; the middle quarter removed, 6 % of the
photo), PNG uploads over HTTP on the loopback. Each client is a thread with its own keep-alive
connection that sends its requests one after the other; every level sends the same number of requests
in all (``--requests``). Latency: from sending the request to the last byte of the answer, so it
includes the upload, the queue, the model and the PNG encoding. The model alone (``inpaint_batch`` in
this process, one picture at a time, same photos and options) is the reference: ``server / model`` is
the throughput the HTTP layer keeps.

    python benchmarks/serve.py [--size 512] [--requests 32] [--clients 1,4,16] [--max-batch 4] [--json F]

The machine may be shared: compare only the figures of one run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.serve.server import Server, box_mask, photo, png  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), q in [0, 100]."""
    return float(np.percentile(values, q))


def model_alone(size: int, count: int) -> float:
    """Pictures a second of the bundled model in this process, one at a time (after one warm-up)."""
    from inpaint.runtime.inpainter import Inpainter

    with Inpainter.load() as painter:
        rgb, hole = photo(size, size, seed=0), box_mask(size, size)
        painter.inpaint(rgb, hole)
        started = time.perf_counter()
        for i in range(count):
            painter.inpaint(photo(size, size, seed=i), hole)
        return count / (time.perf_counter() - started)


def load_level(url: str, uploads: list[tuple[bytes, bytes]], clients: int) -> dict:
    """``clients`` threads share ``uploads`` (each sends len / clients, one after the other)."""
    import httpx

    share = len(uploads) // clients

    def client(k: int) -> list[float]:
        times = []
        with httpx.Client(base_url=url, timeout=600) as c:
            for image, mask in uploads[k * share:(k + 1) * share]:
                started = time.perf_counter()
                r = c.post("/v1/inpaint", files={"image": ("p.png", image), "mask": ("m.png", mask)})
                r.raise_for_status()
                times.append(time.perf_counter() - started)
        return times

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [t for times in pool.map(client, range(clients)) for t in times]
    wall = time.perf_counter() - started
    return {"clients": clients, "requests": len(latencies), "rps": len(latencies) / wall,
            "p50_s": percentile(latencies, 50), "p99_s": percentile(latencies, 99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--requests", type=int, default=32, help="requests per level (a multiple of every client count)")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--max-batch", type=int, default=4)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    if any(args.requests % c for c in levels):
        parser.error("--requests must be a multiple of every --clients value")

    hole = png(box_mask(args.size, args.size))
    uploads = [(png(photo(args.size, args.size, seed=i)), hole) for i in range(args.requests)]
    reference = model_alone(args.size, 8)
    results = []
    with Server("--max-batch", str(args.max_batch)) as server:
        load_level(server.url, uploads[:2], 1)  # warm-up: the first runs allocate
        for clients in levels:
            results.append(load_level(server.url, uploads, clients))
    print(f"{args.size}x{args.size} photos, --max-batch {args.max_batch}; the model alone: {reference:.2f} pictures/s")
    print(f"{'clients':>8} {'requests':>9} {'req/s':>7} {'p50 s':>7} {'p99 s':>7} {'server/model':>13}")
    for r in results:
        print(f"{r['clients']:>8} {r['requests']:>9} {r['rps']:>7.2f} {r['p50_s']:>7.2f} {r['p99_s']:>7.2f} "
              f"{r['rps'] / reference:>13.2f}")
    if args.json:
        args.json.write_text(json.dumps({"size": args.size, "max_batch": args.max_batch, "model_alone_rps": reference,
                                         "levels": results}, indent=2))


if __name__ == "__main__":
    main()
