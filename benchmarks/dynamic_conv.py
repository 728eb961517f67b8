"""MADF's dynamic convolution: factorised form against the paper's per-window form, in one run.

The `madf` preset (the paper's network) at 512x512 on the CPU, batch 1, no grad. Each form runs in its own
subprocess so that peak memory (ru_maxrss above the process's level after the model and inputs exist)
belongs to that form alone. Prints time and peak memory of both, and their ratios.

    python benchmarks/dynamic_conv.py [--size 512] [--repeats 3] [--preset madf]

Expected (issue 2): factorised at least 1.5x faster and at most 1/5 of the peak memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys


def _child(form: str, preset: str, size: int, repeats: int) -> dict:
    import resource
    import statistics
    import time

    import torch

    import inpaint.models.madf as madf
    from inpaint.models import build_model
    from inpaint.ops.dynamic_conv import dynamic_conv_windows

    if form == "per-window":
        madf.mask_aware_dynamic_conv = dynamic_conv_windows  # the reference form, same signature
    torch.manual_seed(0)
    model = build_model(preset).eval()
    image = torch.rand(1, 3, size, size)
    mask = torch.zeros(1, 1, size, size)
    mask[..., size // 4 : size // 2, size // 4 : 3 * size // 4] = 1
    x, known = model.network_inputs(image, mask)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    with torch.no_grad():
        for _ in range(repeats):
            t = time.perf_counter()
            out = model.net(x, known)[-1]
            times.append(time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"form": form, "seconds": statistics.median(times), "peak_mib": (peak - base) / 1024, "checksum": float(out.double().sum())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--preset", default="madf")
    ap.add_argument("--child", choices=["factorised", "per-window"])
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.preset, args.size, args.repeats)))
        return
    results = {}
    for form in ("factorised", "per-window"):
        cmd = [sys.executable, __file__, "--child", form, "--size", str(args.size), "--repeats", str(args.repeats), "--preset", args.preset]
        results[form] = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    f, w = results["factorised"], results["per-window"]
    print(f"MADF dynamic conv, preset {args.preset}, {args.size}x{args.size}, CPU, batch 1, median of {args.repeats}")
    for r in (f, w):
        print(f"  {r['form']:<11} {r['seconds']:8.2f} s   peak {r['peak_mib']:8.0f} MiB")
    print(f"  speed-up (per-window / factorised time): {w['seconds'] / f['seconds']:.2f}x   (target >= 1.5x)")
    print(f"  memory ratio (factorised / per-window peak): {f['peak_mib'] / w['peak_mib']:.3f}   (target <= 0.2)")
    print(f"  outputs agree: relative checksum difference {abs(f['checksum'] - w['checksum']) / abs(w['checksum']):.1e}")


if __name__ == "__main__":
    main()
