"""AMP and DDP details on the CPU: one loss-scale update per iteration, validation reduced as sums and counts
(two real gloo ranks), resuming across bf16 / fp16, and each rank's own RNG state."""

from __future__ import annotations

import os
import socket

import pytest
import torch

from inpaint.trainer.distributed import DistInfo, sum_across_ranks
from inpaint.trainer.loop import StepContext, Trainer, _resolve_amp
from inpaint.trainer.state import load_scaler_state, rank_rng, rank_rng_path, rng_state, save_rank_rng, save_train_state


class _CountingScaler(torch.amp.GradScaler):
    def __init__(self):
        super().__init__("cpu", enabled=True, init_scale=2.0**8)
        self.updates, self.steps = 0, 0

    def step(self, optimizer, *args, **kwargs):
        self.steps += 1
        return super().step(optimizer, *args, **kwargs)

    def update(self, new_scale=None):
        self.updates += 1
        return super().update(new_scale)


def test_loss_scale_is_updated_once_per_iteration_after_every_optimiser():
    """Two optimisers (FAR's G and D): update() after both steps, once; the scale both steps used is the same."""
    g, d = torch.nn.Linear(3, 3), torch.nn.Linear(3, 1)
    ctx = StepContext({"G": g, "D": d}, {"G": torch.optim.SGD(g.parameters(), 0.1), "D": torch.optim.SGD(d.parameters(), 0.1)},
                      torch.device("cpu"), "off")
    ctx.scaler = _CountingScaler()
    x = torch.randn(4, 3)
    for _ in range(3):
        ctx.step(g(x).pow(2).mean(), "G")
        scale_between = ctx.scaler.get_scale()
        ctx.step(d(g(x).detach()).mean(), "D")
        assert ctx.scaler.updates == _ and ctx.scaler.get_scale() == scale_between
        ctx.end_iteration()
    assert ctx.scaler.steps == 6 and ctx.scaler.updates == 3


def test_trainer_ends_each_iteration_once(photo_folder, tmp_path, monkeypatch):
    from inpaint.models import build_model
    from inpaint.trainer.config import TrainConfig
    from inpaint.trainer.madf import MADFTask

    ends = []
    monkeypatch.setattr(StepContext, "end_iteration", lambda self: ends.append(self.global_step))
    cfg = TrainConfig(task="madf", preset="madf-t", data=str(photo_folder), out=str(tmp_path / "run"), size=32, batch=2, steps=3,
                      workers=0, ckpt_every=10, val_every=1000)
    Trainer(MADFTask(build_model("madf-t", train_size=32), None), cfg).fit()
    assert ends == [0, 1, 2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank: int, world: int, port: int, values: list, out) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        mine = values[rank]
        out.put((rank, sum_across_ranks([sum(mine), len(mine)], DistInfo(rank, rank, world), torch.device("cpu"))))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_validation_is_reduced_as_sums_and_counts_over_gloo_ranks():
    """Rank 0 holds 3 validation items, rank 1 one: the mean is over the 4 items (25),
    not the mean of the ranks' means (30)."""
    import torch.multiprocessing as mp

    values = [[10.0, 20.0, 30.0], [40.0]]
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_rank, args=(r, 2, port, values, out)) for r in range(2)]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    for rank in (0, 1):
        total, count = results[rank]
        assert count == 4 and total / count == 25.0


def test_resume_bf16_state_under_fp16_and_back():
    bf16_run = torch.amp.GradScaler("cpu", enabled=False).state_dict()  # what a bf16 (or fp32) run saves: {}
    fp16 = torch.amp.GradScaler("cpu", enabled=True, init_scale=2.0**10)
    assert "fresh loss scale" in load_scaler_state(fp16, bf16_run) and fp16.get_scale() == 2.0**10
    saved = torch.amp.GradScaler("cpu", enabled=True, init_scale=2.0**5).state_dict()
    assert load_scaler_state(fp16, saved) == "" and fp16.get_scale() == 2.0**5
    bf16 = torch.amp.GradScaler("cpu", enabled=False)
    assert "not used" in load_scaler_state(bf16, saved)


def test_bf16_on_a_gpu_without_it_trains_in_fp16(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert _resolve_amp("bf16", torch.device("cuda")) == "fp16" and _resolve_amp("auto", torch.device("cuda")) == "fp16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert _resolve_amp("bf16", torch.device("cuda")) == "bf16" and _resolve_amp("fp16", torch.device("cpu")) == "off"


def test_each_rank_resumes_its_own_rng(tmp_path):
    torch.manual_seed(1)
    rank0 = rng_state()
    save_train_state(tmp_path / "last.state.safetensors", 7, {"rng": rank0})
    torch.manual_seed(2)
    save_rank_rng(tmp_path, 1, 7)
    expected_rank1 = torch.get_rng_state()
    assert rank_rng_path(tmp_path, 1).is_file()
    state, why = rank_rng(tmp_path, 1, 7, rank0)
    assert why == "" and torch.equal(state["cpu"], expected_rank1) and not torch.equal(state["cpu"], rank0["cpu"])
    assert rank_rng(tmp_path, 0, 7, rank0) == (rank0, "")
    state, why = rank_rng(tmp_path, 1, 8, rank0)  # a stale file (another step): rank 0's, with the reason
    assert state is rank0 and "step 7, not 8" in why
    state, why = rank_rng(tmp_path, 2, 7, rank0)
    assert state is rank0 and "missing" in why
