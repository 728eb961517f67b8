"""torchrun / DDP plumbing. ``torchrun --nproc-per-node N -m inpaint.cli.main train ...`` sets RANK,
LOCAL_RANK and WORLD_SIZE; a plain run is rank 0 of 1."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> DistInfo:
    """Initialise the process group when launched by torchrun; NCCL on CUDA, Gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0")), world)
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group(backend)
    return info


def barrier(info: DistInfo) -> None:
    if info.world_size > 1:
        dist.barrier()


def mean_across_ranks(value: float, info: DistInfo, device: torch.device) -> float:
    if info.world_size == 1:
        return value
    t = torch.tensor([value], device=device, dtype=torch.float64)
    dist.all_reduce(t)
    return t.item() / info.world_size


def sum_across_ranks(values: list[float], info: DistInfo, device: torch.device) -> list[float]:
    """Element-wise sums of ``values`` over all ranks (float64). Validation reduces sums and counts with it, so
    the mean is over every item whatever each rank held (a mean of per-rank means weights ranks, not items)."""
    if info.world_size == 1:
        return [float(v) for v in values]
    t = torch.tensor([float(v) for v in values], device=device, dtype=torch.float64)
    dist.all_reduce(t)
    return [float(v) for v in t.tolist()]


def shutdown(info: DistInfo) -> None:
    if info.world_size > 1 and dist.is_initialized():
        dist.destroy_process_group()
