"""ONNX Runtime (standard-op graph) against PyTorch eager on the paper's MADF, CPU, in one run.

The `madf` preset (85 M parameters, 113 GMAC at 512x512) with seeded random weights (speed does not
depend on the weights' values): saved as a checkpoint, exported with ``ops="standard"``, then each
engine is benchmarked by :mod:`inpaint.runtime.bench` in its own process (median latency of
``runner.infer`` on a padded 512x512 float32 batch, peak memory above the loaded level).

    python benchmarks/onnx_vs_torch.py [--size 512] [--batch 1] [--warmup 1] [--iterations 3] [--workdir DIR]

Expected (issue 3): ONNX Runtime at least 1.3x faster than PyTorch eager.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console

from inpaint.cli.bench import results_table
from inpaint.runtime.bench import bench_subprocess

TARGET = 1.3  # issue 3: ONNX Runtime / PyTorch eager speed-up on the CPU


def make_files(workdir: Path, preset: str) -> tuple[Path, Path]:
    """(checkpoint, standard-op ONNX) of ``preset`` with seed-0 weights; reused when already in ``workdir``."""
    ckpt, onnx_path = workdir / f"{preset}.safetensors", workdir / f"{preset}.onnx"
    if ckpt.is_file() and onnx_path.is_file():
        return ckpt, onnx_path
    import torch

    from inpaint.export.onnx import export_onnx
    from inpaint.models import build_model
    from inpaint.models.checkpoint import save_model

    torch.manual_seed(0)
    model = build_model(preset).eval()
    save_model(model, ckpt)
    t = time.perf_counter()
    export_onnx(model, onnx_path, ops="standard")
    print(f"exported {onnx_path.name} ({onnx_path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s")
    return ckpt, onnx_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="madf")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workdir", type=Path, help="keep the model files here (reused by the next run)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        ckpt, onnx_path = make_files(workdir, args.preset)
        results = [
            bench_subprocess(path, engine, args.size, args.batch, args.warmup, args.iterations, args.device)
            for engine, path in (("onnx", onnx_path), ("torch", ckpt))
        ]
    console = Console(width=160)
    console.print(results_table(results))
    ort, pt = results
    speedup = pt.latency_ms / ort.latency_ms
    verdict = "meets" if speedup >= TARGET else "MISSES"
    console.print(
        f"ONNX Runtime vs PyTorch eager, preset {args.preset}, {ort.height}x{ort.width}, batch {args.batch}, {ort.device} / {pt.device}: "
        f"{ort.latency_ms:.0f} ms vs {pt.latency_ms:.0f} ms -> {speedup:.2f}x ({verdict} the {TARGET}x target)"
    )


if __name__ == "__main__":
    main()
