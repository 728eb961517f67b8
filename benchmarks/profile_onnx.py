"""Per-node profile of an exported model in ONNX Runtime (its built-in profiler): where time and memory go.

Runs the model once to warm up, then ``--runs`` times with ``SessionOptions.enable_profiling``, and prints the
operator types and the single nodes that take the most time, with the bytes each writes (``output_size`` in
ONNX Runtime's trace; the largest outputs are what the peak memory is made of).

    python benchmarks/profile_onnx.py MODEL.onnx [--size 512] [--threads N] [--top 25]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import tempfile


def profile(model: str, size: int, threads: int, runs: int) -> list[dict]:
    """ONNX Runtime's trace events of kind ``Node`` (one per node per run) for the profiled runs."""
    import onnxruntime as ort

    from inpaint.runtime.backends.onnx import session_options
    from inpaint.runtime.bench import bench_inputs

    with tempfile.TemporaryDirectory() as tmp:
        options = session_options(threads=threads or None)
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(tmp, "ort")
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        stride = int(session.get_modelmeta().custom_metadata_map.get("inpaint.stride", "128"))
        image, mask = bench_inputs(size, stride, 1)
        for _ in range(runs + 1):
            session.run(None, {"image": image, "mask": mask})
        with open(session.end_profiling()) as f:
            events = json.load(f)
    nodes = [e for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    runs_seen = collections.Counter(e["name"] for e in nodes)
    first = {name: n - runs for name, n in runs_seen.items()}  # drop the warm-up run's events
    kept = []
    for e in nodes:
        if first[e["name"]] > 0:
            first[e["name"]] -= 1
            continue
        kept.append(e)
    return kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    events = profile(args.model, args.size, args.threads, args.runs)
    total = sum(e["dur"] for e in events) / 1e3 / args.runs
    by_op = collections.defaultdict(lambda: [0.0, 0, 0])
    by_node = collections.defaultdict(lambda: [0.0, 0, ""])
    for e in events:
        a = e["args"]
        by_op[a["op_name"]][0] += e["dur"] / 1e3 / args.runs
        by_op[a["op_name"]][1] += 1
        by_op[a["op_name"]][2] = max(by_op[a["op_name"]][2], int(a.get("output_size", 0)))
        node = by_node[e["name"][: -len("_kernel_time")]]
        node[0] += e["dur"] / 1e3 / args.runs
        node[1] = int(a.get("output_size", 0))
        node[2] = a["op_name"]
    print(f"{args.model}: {args.size}x{args.size}, node time {total:.0f} ms per run")
    print(f"  {'op type':<22} {'ms':>8} {'share':>6} {'nodes':>6} {'largest output MB':>18}")
    for op, (ms, n, biggest) in sorted(by_op.items(), key=lambda kv: -kv[1][0])[: args.top]:
        print(f"  {op:<22} {ms:8.1f} {ms / total:6.1%} {n // args.runs:6d} {biggest / 1e6:18.1f}")
    print(f"  {'node (slowest)':<60} {'op':<16} {'ms':>8} {'output MB':>10}")
    for name, (ms, out, op) in sorted(by_node.items(), key=lambda kv: -kv[1][0])[: args.top]:
        print(f"  {name[-60:]:<60} {op:<16} {ms:8.1f} {out / 1e6:10.1f}")
    print(f"  {'node (largest output)':<60} {'op':<16} {'ms':>8} {'output MB':>10}")
    for name, (ms, out, op) in sorted(by_node.items(), key=lambda kv: -kv[1][1])[: args.top]:
        print(f"  {name[-60:]:<60} {op:<16} {ms:8.1f} {out / 1e6:10.1f}")


if __name__ == "__main__":
    main()
