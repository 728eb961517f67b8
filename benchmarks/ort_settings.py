"""ONNX Runtime session settings on an exported model: memory arena x weight prepacking, each in its own process.

For every setting: session load time, median latency of ``iterations`` runs (after ``warmup``), resident memory
after loading and the process's peak resident memory (VmHWM: weights, session and inference together; not
affected by other load on the machine, unlike the times). Chose the defaults of
:func:`inpaint.runtime.backends.onnx.session_options`.

    python benchmarks/ort_settings.py MODEL.onnx [--size 512] [--threads N] [--warmup 1] [--iterations 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

SETTINGS = [  # (name, arena, prepack)
    ("arena+prepack (ORT default)", True, True),
    ("no arena, prepack", False, True),
    ("arena, no prepack", True, False),
    ("no arena, no prepack", False, False),
]


def _child(model: str, size: int, threads: int, arena: bool, prepack: bool, warmup: int, iterations: int) -> dict:
    import statistics

    from inpaint.runtime.backends.onnx import SessionFromOnnx
    from inpaint.runtime.bench import _peak_mb, _rss_mb, bench_inputs

    before = _rss_mb()
    t = time.perf_counter()
    session = SessionFromOnnx(model, "cpu", threads=threads or None, arena=arena, prepack=prepack)()
    load_s = time.perf_counter() - t
    loaded = _rss_mb()
    stride = int(session.get_modelmeta().custom_metadata_map.get("inpaint.stride", "128"))
    image, mask = bench_inputs(size, stride, 1)
    feed = {"image": image, "mask": mask}
    for _ in range(warmup):
        session.run(None, feed)
    times = []
    for _ in range(iterations):
        t = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - t)
    return {"load_s": load_s, "latency_s": statistics.median(times), "loaded_mb": loaded - before, "peak_mb": _peak_mb()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0: physical cores)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        arena, prepack = json.loads(args.child)
        print(json.dumps(_child(args.model, args.size, args.threads, arena, prepack, args.warmup, args.iterations)))
        return
    print(f"{args.model}, {args.size}x{args.size}, batch 1, threads {args.threads or 'physical cores'}")
    print(f"  {'setting':<28} {'load s':>7} {'latency s':>10} {'RSS after load MB':>18} {'peak RSS MB':>12}")
    for name, arena, prepack in SETTINGS:
        cmd = [sys.executable, __file__, args.model, "--size", str(args.size), "--threads", str(args.threads), "--warmup", str(args.warmup),
               "--iterations", str(args.iterations), "--child", json.dumps([arena, prepack])]
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        print(f"  {name:<28} {r['load_s']:7.1f} {r['latency_s']:10.2f} {r['loaded_mb']:18.0f} {r['peak_mb']:12.0f}", flush=True)


if __name__ == "__main__":
    main()
