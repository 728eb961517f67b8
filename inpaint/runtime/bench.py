"""Latency, throughput and memory of one engine on one model, each engine in its own process.

    result = bench_subprocess("madf.onnx", "onnx", size=512, batch=1)    # -> BenchResult

A fresh Python process per engine keeps engines from polluting each other's memory figures and
caches. Inside it (:func:`measure`): import the engine's package, read the resident set size (RSS),
load the model, read it again, reset the peak, run ``warmup`` untimed batches, then ``iterations``
timed ``runner.infer`` calls (model time only: the inputs are already padded float32 arrays).

    load_mb  = RSS after loading - RSS before loading        (weights, session, graph optimisation)
    infer_mb = peak RSS while inferring - RSS after loading  (working memory of inference above that)
    cuda_mb  = torch.cuda.max_memory_allocated, torch engine on CUDA only

On Linux the figures come from ``/proc/self/status`` (VmRSS, VmHWM) and the peak is reset by writing
5 to ``/proc/self/clear_refs``. ``ru_maxrss`` is not used there: Linux keeps it across ``execve``, so a
child started by a big parent (one that has just exported the model) inherits the parent's peak and
would report nothing. Elsewhere ``ru_maxrss`` is the fallback (both peaks, so infer_mb is then the
growth of the peak over the loading peak, a lower bound).

The input: a random image (seed 0) with a centred square hole of half the side (a quarter of the
area); MADF's cost does not depend on the mask's content. The size is rounded up to the stride.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from inpaint.errors import UserError

__all__ = ["BenchResult", "measure", "bench_subprocess"]


@dataclass
class BenchResult:
    """One engine's figures. latency_ms: median wall time of one ``infer`` of ``batch`` pictures."""

    engine: str
    model: str
    device: str
    height: int
    width: int
    batch: int
    warmup: int
    iterations: int
    latency_ms: float
    images_per_s: float
    load_mb: float
    infer_mb: float
    cuda_mb: float | None = None
    times_ms: list[float] = field(default_factory=list)


def _proc_status_mb(field_name: str) -> float | None:
    """A memory line of /proc/self/status (VmRSS, VmHWM) in MB, or None where there is none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024  # the kernel reports kB
    except OSError:
        pass
    return None


def _maxrss_mb() -> float:
    """Peak RSS from getrusage, MB (Linux reports KiB, macOS bytes); carried across execve on Linux."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def _rss_mb() -> float:
    """Current RSS (Linux), else the peak so far."""
    now = _proc_status_mb("VmRSS")
    return _maxrss_mb() if now is None else now


def _peak_mb() -> float:
    """Peak RSS since the process started or since :func:`_reset_peak` (Linux), else ru_maxrss."""
    peak = _proc_status_mb("VmHWM")
    return _maxrss_mb() if peak is None else peak


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: ``echo 5 > /proc/self/clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def bench_inputs(size: int, stride: int, batch: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """image (batch, 3, S, S) float32 in [0, 1], mask (batch, 1, S, S) float32 1 = hole; S = size rounded up to stride."""
    s = -(-size // stride) * stride
    rng = np.random.default_rng(seed)
    image = rng.random((batch, 3, s, s), dtype=np.float32)
    mask = np.zeros((batch, 1, s, s), np.float32)
    mask[..., s // 4 : s // 4 + s // 2, s // 4 : s // 4 + s // 2] = 1
    return image, mask


def measure(model: str | Path, engine: str, size: int, batch: int = 1, warmup: int = 2, iterations: int = 10,
            device: str = "auto") -> BenchResult:
    """Benchmark in this process (see the module docstring; :func:`bench_subprocess` is the clean way)."""
    from inpaint.runtime.backends import load_runner

    if size < 1 or batch < 1 or warmup < 0 or iterations < 1:
        raise UserError(f"need --size >= 1, --batch >= 1, --warmup >= 0, --iterations >= 1 (got {size}, {batch}, {warmup}, {iterations})")
    runner = load_runner(model, engine, device)
    # import the engine's package before the first memory reading, so load_mb is the model's own cost
    engine_package = {"onnx": "onnxruntime", "torch": "torch", "trt": "tensorrt"}.get(runner.name)
    if engine_package:
        importlib.import_module(engine_package)
    before = _rss_mb()
    with runner:
        loaded = _rss_mb()
        loaded_peak = loaded if _reset_peak() else _peak_mb()
        image, mask = bench_inputs(size, runner.stride, batch)
        torch_cuda = runner.name == "torch" and runner.device.startswith("cuda")
        if torch_cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()
        for _ in range(warmup):
            runner.infer(image, mask)
        times = []
        for _ in range(iterations):
            t = time.perf_counter()
            runner.infer(image, mask)  # returns numpy: a CUDA backend has synchronised
            times.append((time.perf_counter() - t) * 1000)
        cuda_mb = torch.cuda.max_memory_allocated() / (1 << 20) if torch_cuda else None
        infer_peak = _peak_mb()
        median = statistics.median(times)
        return BenchResult(
            engine=runner.name, model=str(model), device=runner.device, height=image.shape[2], width=image.shape[3],
            batch=batch, warmup=warmup, iterations=iterations, latency_ms=median,
            images_per_s=batch * 1000 / median, load_mb=loaded - before, infer_mb=max(0.0, infer_peak - loaded_peak),
            cuda_mb=cuda_mb, times_ms=times,
        )


def bench_subprocess(model: str | Path, engine: str, size: int, batch: int = 1, warmup: int = 2, iterations: int = 10,
                     device: str = "auto", timeout: float | None = None) -> BenchResult:
    """:func:`measure` in a fresh Python process. A UserError there is raised here with its message."""
    args = {"model": str(model), "engine": engine, "size": size, "batch": batch, "warmup": warmup,
            "iterations": iterations, "device": device}
    cmd = [sys.executable, "-m", "inpaint.runtime.bench", json.dumps(args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=dict(os.environ))
    lines = proc.stdout.strip().splitlines()
    try:
        reply = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        reply = {}
    if "user_error" in reply:
        raise UserError(reply["user_error"])
    if proc.returncode != 0 or "result" not in reply:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the {engine} benchmark process failed (exit {proc.returncode}): {tail}")
    return BenchResult(**reply["result"])


def _worker(argv: list[str]) -> int:
    args = json.loads(argv[0])
    try:
        result = measure(**args)
    except UserError as exc:
        print(json.dumps({"user_error": str(exc)}))
        return 2
    print(json.dumps({"result": asdict(result)}))
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1:]))
