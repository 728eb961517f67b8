"""The trainer: devices, AMP, DDP, deterministic data, logging, validation, atomic checkpoints, exact resume.

A run folder ``RUN`` holds::

    train_config.json          the resolved configuration (reused by --resume)
    last.safetensors           model weights + config (inpaint.models.checkpoint format)
    last.state.safetensors     optimisers, AMP scaler, RNG, step (inpaint.trainer.state format)
    best.safetensors           the weights with the best validation PSNR so far
    tb/                        TensorBoard scalars and image grids
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import threading
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import nn

from inpaint.errors import Interrupted, UserError
from inpaint.metrics import psnr, ssim
from inpaint.models.checkpoint import save_model
from inpaint.trainer.config import TrainConfig
from inpaint.trainer.distributed import DistInfo, barrier, init_distributed, shutdown, sum_across_ranks
from inpaint.trainer.state import (
    load_scaler_state, load_train_state, rank_rng, rng_state, save_rank_rng, save_train_state, set_rng_state,
)
from inpaint.trainer.task import Task

log = logging.getLogger("inpaint.trainer")


class TrainingInterrupted(Exception):
    """Ctrl-C during training; a checkpoint at ``step`` was written first."""

    def __init__(self, step: int, run: Path, signum: int = signal.SIGINT):
        super().__init__(f"interrupted at step {step}; checkpoint written, continue with --resume {run}")
        self.step, self.run, self.signum = step, run, signum


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {name}: no CUDA device is visible; use --device cpu")
    return torch.device(name)


class StepContext:
    """Handed to ``Task.training_step``: AMP autocast, wrapped modules, and optimiser steps."""

    def __init__(self, modules: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer], device: torch.device, amp: str):
        self.modules, self.optimizers, self.device = modules, optimizers, device
        self.amp_dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(amp)
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp == "fp16")
        #: steps completed before the current one (0 during the first); tasks use it for schedules
        self.global_step = 0

    def module(self, name: str) -> nn.Module:
        return self.modules[name]

    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def step(self, loss: torch.Tensor, optimizer: str) -> None:
        """zero_grad, backward (scaled under fp16), optimiser step. The loss scale is updated once per iteration,
        after every optimiser's step (:meth:`end_iteration`; GradScaler's docstring), not here."""
        opt = self.optimizers[optimizer]
        opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(opt)

    def end_iteration(self) -> None:
        """``GradScaler.update()``: once per iteration, after the last optimiser's step (the trainer calls it)."""
        self.scaler.update()


def _resolve_amp(amp: str, device: torch.device) -> str:
    """"off" | "fp16" | "bf16" for this device. bf16 on a GPU without it (before Ampere), as when a bf16 run is
    resumed there, becomes fp16 with loss scaling (the saved state has no scale: a fresh one starts)."""
    if device.type != "cuda" or amp == "off":
        return "off"
    if amp == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        log.warning("--amp bf16: this GPU has no bfloat16; training in fp16 with loss scaling instead")
        return "fp16"
    return amp


class Trainer:
    """Runs ``task`` with ``cfg``; ``resume=True`` continues the run in ``cfg.out`` exactly."""

    def __init__(self, task: Task, cfg: TrainConfig, resume: bool = False):
        self.task, self.cfg, self.resume = task, cfg, resume
        self.run = Path(cfg.out)
        self.device = resolve_device(cfg.device)
        self.dist: DistInfo = init_distributed(str(self.device))
        if self.dist.world_size > 1 and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
        self.amp = _resolve_amp(cfg.amp, self.device)
        self.step = 0
        self.best_psnr = -math.inf
        self.history: list[dict[str, float]] = []  # metrics of every step, kept for tests and summaries

    # ---------------------------------------------------------------- setup
    def _data(self):
        from torch.utils.data import DataLoader

        from inpaint.trainer.data import FixedValidationSet, FreeFormMasks, ImageFolder, InpaintDataset, MaskFolder, MixedMasks, StepBatches

        cfg = self.cfg
        images = ImageFolder(cfg.data, min_size=cfg.size // 2)
        masks = FreeFormMasks(cfg.size, hole_range=cfg.hole_range)
        if cfg.masks:
            masks = MixedMasks([masks, MaskFolder(cfg.masks, cfg.size)], [0.5, 0.5])
        dataset = InpaintDataset(images, masks, cfg.size, scale_range=cfg.scale_range)
        sampler = StepBatches(len(images), cfg.batch, cfg.seed, start_step=self.step, rank=self.dist.rank, world_size=self.dist.world_size)
        loader = DataLoader(dataset, batch_sampler=sampler, num_workers=cfg.workers, pin_memory=self.device.type == "cuda", persistent_workers=cfg.workers > 0)
        val = None
        if cfg.val:
            val_images = ImageFolder(cfg.val, min_size=cfg.size // 2)
            val = FixedValidationSet(val_images, cfg.size, n_per_image=max(1, math.ceil(cfg.val_count / len(val_images))), seed=cfg.seed)
        return loader, val

    def _checkpoint_paths(self, name: str) -> tuple[Path, Path]:
        return self.run / f"{name}.safetensors", self.run / f"{name}.state.safetensors"

    def _save(self, name: str = "last") -> None:
        """Write ``RUN/<name>.safetensors``; ``last`` also gets its training state (written first). Under torchrun
        every other rank writes its own RNG state (``state.rank_rng_path``) with ``last``."""
        if not self.dist.is_main:
            if name == "last":
                save_rank_rng(self.run, self.dist.rank, self.step)
            return
        weights, state = self._checkpoint_paths(name)
        if name == "last":
            self._save_state(state)
        save_model(self.task.model, weights, step=self.step, task=self.cfg.task, size=self.cfg.size)

    def _save_state(self, state: Path) -> None:
        objects = {f"opt.{k}": v for k, v in self.optimizers.items()}
        objects.update({f"module.{k}": v for k, v in self.task.extra_modules().items()})
        objects["scaler"] = self.ctx.scaler
        objects["rng"] = rng_state()
        save_train_state(state, self.step, objects, {"best_psnr": self.best_psnr})

    def _load(self) -> None:
        weights, state = self._checkpoint_paths("last")
        from inpaint.models.checkpoint import read_metadata

        step, objects, extra = load_train_state(state)
        meta = read_metadata(weights)
        if int(meta.get("step", -1)) != step:
            raise UserError(f"{self.run}: last.safetensors (step {meta.get('step')}) and last.state.safetensors (step {step}) disagree; the run folder is damaged")
        safetensors = __import__("safetensors.torch", fromlist=["load_file"])
        self.task.model.load_state_dict(safetensors.load_file(str(weights), device=str(self.device)))
        for k, opt in self.optimizers.items():
            opt.load_state_dict(objects[f"opt.{k}"])
        for k, mod in self.task.extra_modules().items():
            mod.load_state_dict(objects[f"module.{k}"])
        why = load_scaler_state(self.ctx.scaler, objects["scaler"])
        if why:
            log.info("resuming %s: %s", self.run, why)
        rng, why = rank_rng(self.run, self.dist.rank, step, objects["rng"])
        if why:
            log.warning("rank %d resumes with rank 0's RNG state (%s)", self.dist.rank, why)
        set_rng_state(rng)
        self.step, self.best_psnr = step, float(extra.get("best_psnr", -math.inf))

    def _prepare_run_folder(self) -> None:
        cfg_path = self.run / "train_config.json"
        if self.resume:
            if not self._checkpoint_paths("last")[1].is_file():
                raise UserError(f"--resume {self.run}: no last.state.safetensors there; start a new run with --out instead")
        elif self._checkpoint_paths("last")[0].exists():
            raise UserError(f"--out {self.run} already holds a run; continue it with --resume {self.run} or choose another --out")
        if self.dist.is_main:
            self.run.mkdir(parents=True, exist_ok=True)
            self.cfg.save(cfg_path)

    # ---------------------------------------------------------------- validation
    @torch.no_grad()
    def validate(self, val) -> dict[str, float]:
        """PSNR / SSIM of the composited output against the photo, over whole images, on fixed masks."""
        model = self.task.model
        was_training = model.training
        model.eval()
        scores, grid = [], []
        for i in range(self.dist.rank, len(val), self.dist.world_size):
            item = val[i]
            image, mask = item["image"][None].to(self.device), item["mask"][None].to(self.device)
            out = model(image, mask).float()
            a, b = out[0].permute(1, 2, 0).cpu().numpy(), image[0].permute(1, 2, 0).cpu().numpy()
            scores.append((psnr(a, b), ssim(a, b)))
            if len(grid) < 4:
                grid.append(torch.cat([image * (1 - mask), mask.expand_as(image), out, image], 3)[0].cpu())
        if was_training:
            model.train()
        # sums and counts over all ranks: ranks may hold different numbers of items (len(val) % world_size)
        total_p, total_s, count = sum_across_ranks([sum(x[0] for x in scores), sum(x[1] for x in scores), len(scores)], self.dist, self.device)
        p, s = (total_p / count, total_s / count) if count else (0.0, 0.0)
        self._grid = torch.cat(grid, 1) if grid else None  # rows: masked input | mask | output | photo
        return {"psnr": p, "ssim": s}

    # ---------------------------------------------------------------- loop
    def _batches(self, loader) -> Iterator[dict[str, torch.Tensor]]:
        for batch in loader:
            yield {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def fit(self) -> dict[str, float]:
        cfg = self.cfg
        torch.manual_seed(cfg.seed)
        self._prepare_run_folder()
        self.task.to(self.device)
        modules = dict(self.task.trainable())
        if self.dist.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            modules = {k: DDP(m, device_ids=ids) for k, m in modules.items()}
        self.optimizers = self.task.optimizers()
        self.ctx = StepContext(modules, self.optimizers, self.device, self.amp)
        if self.resume:
            self._load()
        loader, val = self._data()
        writer = self._writer()
        self.task.model.train()
        last_val: dict[str, float] = {}
        progress = _Progress(cfg.steps, self.step, enabled=self.dist.is_main)
        previous_term = _sigterm_as_interrupt()
        try:
            with progress:
                for batch in self._batches(loader):
                    if self.step >= cfg.steps:
                        break
                    self.ctx.global_step = self.step
                    metrics = self.task.training_step(batch, self.ctx)
                    self.ctx.end_iteration()
                    self.step += 1
                    self.history.append(metrics)
                    progress.update(self.step, metrics)
                    if writer and self.step % cfg.log_every == 0:
                        for k, v in metrics.items():
                            writer.add_scalar(f"train/{k}", v, self.step)
                    if val is not None and (self.step % cfg.val_every == 0 or self.step == cfg.steps):
                        last_val = self.validate(val)
                        if writer:
                            for k, v in last_val.items():
                                writer.add_scalar(f"val/{k}", v, self.step)
                            if self._grid is not None:
                                writer.add_image("val/masked_mask_output_photo", self._grid.clamp(0, 1), self.step)
                        if last_val["psnr"] > self.best_psnr:
                            self.best_psnr = last_val["psnr"]
                            self._save("best")
                    if self.step % cfg.ckpt_every == 0 or self.step == cfg.steps:
                        self._save("last")
                        barrier(self.dist)
        except KeyboardInterrupt as exc:
            self._save("last")
            raise TrainingInterrupted(self.step, self.run, getattr(exc, "signum", signal.SIGINT)) from None
        finally:
            if previous_term is not None:
                signal.signal(signal.SIGTERM, previous_term)
            if writer:
                writer.close()
            shutdown(self.dist)
        return {"step": self.step, **({"loss": self.history[-1].get("total", math.nan)} if self.history else {}), **{f"val_{k}": v for k, v in last_val.items()}}

    def _writer(self):
        if not self.dist.is_main:
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            log.warning("tensorboard is not installed; no TensorBoard logs (pip install 'inpaint-toolkit[train]')")
            return None
        return SummaryWriter(str(self.run / "tb"))


def _raise_interrupt(signum, frame):
    raise Interrupted(signum)


def _sigterm_as_interrupt():
    """SIGTERM (a scheduler preempting the job, ``kill``) ends training like Ctrl-C: checkpoint, then stop.
    Returns the previous handler, or None off the main thread (where handlers cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_interrupt)


class _Progress:
    """A rich progress bar with the loss and it/s, on rank 0 only; plain log lines when not on a terminal."""

    #: log-line interval when stdout is not a terminal (a file, CI, nohup)
    PLAIN_EVERY = 50

    def __init__(self, total: int, start: int, enabled: bool):
        import sys

        self.enabled, self.total, self.start = enabled, total, start
        self.plain = enabled and not sys.stdout.isatty()
        self.enabled = enabled and not self.plain
        self._t0 = time.perf_counter()

    def __enter__(self):
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"), TimeRemainingColumn())
            self._bar.__enter__()
            self._task = self._bar.add_task("train", total=self.total, completed=self.start, info="")
        return self

    def update(self, step: int, metrics: dict[str, float]) -> None:
        rate = (step - self.start) / max(time.perf_counter() - self._t0, 1e-9)
        info = f"loss {metrics.get('total', float('nan')):.4f}  {rate:.2f} it/s"
        if self.enabled:
            self._bar.update(self._task, completed=step, info=info)
        elif self.plain and (step % self.PLAIN_EVERY == 0 or step == self.total):
            print(f"step {step}/{self.total}  {info}", flush=True)

    def __exit__(self, *exc):
        if self.enabled:
            self._bar.__exit__(*exc)
        return False
