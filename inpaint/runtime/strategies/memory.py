"""How much memory a network run needs, and how much the machine has: ``full``'s refusal, the window batch cap.

    need_mb = working_mb(info, engine, pixels)          # pixels = N * H * W of one runner.infer call
    have_mb = available_mb()                            # INPAINT_MEMORY_MB, the cgroup limit, MemAvailable

The working memory of MADF grows linearly with the pixels it runs on (every level keeps feature maps
of the whole input). The figures below are the peak resident memory above the loaded model while one
``runner.infer`` runs (``inpaint.runtime.bench.measure``'s ``infer_mb``), divided by the megapixels of
the input, measured on this project's CPU machine (ONNX Runtime 1.x CPU provider, PyTorch 2.13 CPU)
with seeded weights at 512x512 and 768x768 (the two agree within 15 %; the larger is kept), one
process per figure (``bench_subprocess``), 2 CPU cores shared with other jobs.
"""

from __future__ import annotations

import os

from inpaint.errors import UserError
from inpaint.runtime.backends.base import ModelInfo

__all__ = ["MB_PER_MEGAPIXEL", "DEFAULT_MB_PER_MEGAPIXEL", "MEMORY_ENV", "working_mb", "available_mb"]

#: (engine, preset) -> MB of working memory per megapixel of network input (see the module docstring)
MB_PER_MEGAPIXEL: dict[tuple[str, str], float] = {
    ("onnx", "madf-t"): 713.0,   # 512: 713, 768: 688
    ("onnx", "madf-s"): 1742.0,  # 512: 1645, 768: 1742 (the bundled default model)
    ("onnx", "madf"): 1291.0,    # 512 only (85 M parameters: 768 takes minutes on 2 cores)
    ("torch", "madf-t"): 436.0,  # 512: 436, 768: 376
    ("torch", "madf-s"): 859.0,  # 512: 859, 768: 767
    ("torch", "madf"): 1492.0,   # 512 only
}

#: for an engine / preset not measured: the largest figure above (an over-estimate refuses early, never late)
DEFAULT_MB_PER_MEGAPIXEL = max(MB_PER_MEGAPIXEL.values())

#: environment variable that caps the memory a run may use, in MB (a container's limit, or a test's)
MEMORY_ENV = "INPAINT_MEMORY_MB"


def working_mb(info: ModelInfo | None, engine: str, pixels: int) -> float:
    """Estimated peak working memory (MB) of one ``runner.infer`` on ``pixels`` input pixels (N * H * W)."""
    preset = info.preset if info is not None else ""
    per_mp = MB_PER_MEGAPIXEL.get((engine, preset), DEFAULT_MB_PER_MEGAPIXEL)
    return per_mp * pixels / 1e6


def _meminfo_available_mb() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def _cgroup_free_mb() -> float | None:
    """memory.max - memory.current of this process's cgroup (v2), None when unlimited or absent."""
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit == "max":
            return None
        with open("/sys/fs/cgroup/memory.current") as f:
            current = int(f.read().strip())
        return (int(limit) - current) / (1 << 20)
    except (OSError, ValueError):
        return None


def available_mb() -> float | None:
    """Memory this run may still use, in MB: the smallest of ``$INPAINT_MEMORY_MB``, the cgroup's free
    memory and ``/proc/meminfo`` MemAvailable; None where none of them can be read (then nothing is refused)."""
    figures = [_meminfo_available_mb(), _cgroup_free_mb()]
    env = os.environ.get(MEMORY_ENV, "").strip()
    if env:
        try:
            figures.append(float(env))
        except ValueError:
            raise UserError(f"{MEMORY_ENV}={env!r}: not a number of megabytes; set it to e.g. 4096 or unset it") from None
    known = [f for f in figures if f is not None]
    return min(known) if known else None
