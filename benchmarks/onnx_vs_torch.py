"""ONNX Runtime (standard-op graph) against PyTorch eager on the paper's MADF and FAR, CPU, in one run.

For each model (``madf``, ``far`` presets, seeded random weights: speed does not depend on their values): saved as a
checkpoint, exported with ``ops="standard"`` (``--target``, default the DFT-matrix form that ``inpaint export``
writes for ``--engine onnx``), then each engine benchmarked by :mod:`inpaint.runtime.bench` in its own process
(median latency of ``runner.infer`` on a padded float32 batch; memory: ``load MB`` after loading the model,
``infer MB`` the peak above that while inferring, both above the process's level with the engine imported).

Achieved rate: the model's floating-point operations (``torch.utils.flop_counter`` on the eager model at the same
size: convolutions and matrix products, 2 FLOP per multiply-add; FAR's FFTs are not counted) divided by the latency,
against the machine's sustained rate on a 3x3 convolution (:func:`sustained_conv_rate`, measured here in
ONNX Runtime and PyTorch, best of both).

    python benchmarks/onnx_vs_torch.py [--models madf,far] [--size 512] [--iterations 3] [--workdir DIR]

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
#: the sustained-rate probe: a 3x3 convolution of this shape (N, C_in, H, W) -> C_out, shaped like MADF's and FAR's
#: big decoder / FFC convolutions (2 * 256 * 256 * 9 * 128 * 128 = 19.3 GFLOP)
PROBE = (1, 256, 128, 128)
PROBE_OUT = 256


def make_files(workdir: Path, preset: str, target: str) -> tuple[Path, Path]:
    """(checkpoint, standard-op ONNX) of ``preset`` with seed-0 weights; reused when already in ``workdir``."""
    ckpt, onnx_path = workdir / f"{preset}.safetensors", workdir / f"{preset}-{target}.onnx"
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
    export_onnx(model, onnx_path, ops="standard", target=target)
    print(f"exported {onnx_path.name} ({onnx_path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s")
    return ckpt, onnx_path


def model_gflop(preset: str, size: int) -> float:
    """GFLOP of one ``size`` x ``size`` image through ``preset`` (torch's flop counter, eager, seed-0 weights)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from inpaint.models import build_model

    torch.manual_seed(0)
    model = build_model(preset).eval()
    image, mask = torch.rand(1, 3, size, size), torch.zeros(1, 1, size, size)
    mask[..., size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 1
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(image, mask)
    return counter.get_total_flops() / 1e9


def sustained_conv_rate(repeats: int = 5) -> dict[str, float]:
    """GFLOP/s of the :data:`PROBE` 3x3 convolution, best of ``repeats``, in PyTorch and in ONNX Runtime (this
    backend's session settings), both on the threads they use by default here."""
    import numpy as np
    import onnxruntime as ort
    import torch
    from onnx import TensorProto, helper, numpy_helper

    from inpaint.runtime.backends.onnx import session_options

    n, c, h, w = PROBE
    flop = 2 * n * c * PROBE_OUT * 9 * h * w
    x = np.random.default_rng(0).standard_normal(PROBE, dtype=np.float32)
    weight = np.random.default_rng(1).standard_normal((PROBE_OUT, c, 3, 3), dtype=np.float32) * 0.01
    rates = {}
    tx, tw = torch.from_numpy(x), torch.from_numpy(weight)
    with torch.no_grad():
        torch.nn.functional.conv2d(tx, tw, padding=1)
        best = min(_timed(lambda: torch.nn.functional.conv2d(tx, tw, padding=1)) for _ in range(repeats))
    rates["torch"] = flop / best / 1e9
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], "probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(PROBE))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [numpy_helper.from_array(weight, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    session = ort.InferenceSession(model.SerializeToString(), session_options(), providers=["CPUExecutionProvider"])
    session.run(None, {"x": x})
    best = min(_timed(lambda: session.run(None, {"x": x})) for _ in range(repeats))
    rates["onnx"] = flop / best / 1e9
    return rates


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="madf,far", help="comma-separated presets")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--target", default="onnx-cuda", help="export target (onnx-cpu: FAR's FFTs as DFT nodes)")
    ap.add_argument("--workdir", type=Path, help="keep the model files here (reused by the next run)")
    args = ap.parse_args()
    console = Console(width=160)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for preset in args.models.split(","):
            ckpt, onnx_path = make_files(workdir, preset, args.target)
            gflop = model_gflop(preset, args.size) * args.batch
            results = [
                bench_subprocess(path, engine, args.size, args.batch, args.warmup, args.iterations, args.device)
                for engine, path in (("onnx", onnx_path), ("torch", ckpt))
            ]
            rates = sustained_conv_rate()  # measured next to each model's runs: the load on a shared machine drifts
            peak = max(rates.values())
            console.print(f"sustained 3x3 conv rate {PROBE}->{PROBE_OUT}: " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in rates.items()))
            console.print(results_table(results))
            ort, pt = results
            speedup = pt.latency_ms / ort.latency_ms
            verdict = "meets" if speedup >= TARGET else "MISSES"
            console.print(
                f"{preset}, {ort.height}x{ort.width}, batch {args.batch}: ONNX Runtime {ort.latency_ms:.0f} ms "
                f"(peak {ort.load_mb + ort.infer_mb:.0f} MB), PyTorch eager {pt.latency_ms:.0f} ms (peak {pt.load_mb + pt.infer_mb:.0f} MB) "
                f"-> {speedup:.2f}x ({verdict} the {TARGET}x target)")
            for r in results:
                achieved = gflop / (r.latency_ms / 1000)
                console.print(f"  {r.engine:<6} {gflop:.0f} GFLOP in {r.latency_ms / 1000:.2f} s = {achieved:.0f} GFLOP/s, "
                              f"{achieved / peak:.0%} of the sustained 3x3 conv rate ({peak:.0f} GFLOP/s)")


if __name__ == "__main__":
    main()
