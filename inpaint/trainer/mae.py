"""MAE pre-training for FAR: mixed masking, MSE on removed patches, AdamW with warm-up + half-cycle cosine.

Facts and where they were read (ewrfcas/MAE-FAR; paper = Cao et al., ECCV 2022, sec. 3.1 and 4):

- Mixed masking (``MAE/models_mae.py:adaptive_random_masking``; paper Fig. 3): the free-form hole mask is
  reduced to patches with "any hole pixel" (area average ``> 0``, the paper's max-pooling); those patches are
  removed first, then random patches, until ``int(L * (1 - 0.75))`` tokens remain: every sample drops exactly
  75% (192 of 256). Their noise is ``clamp(rand + m, 0, 1)``, which ties every hole patch at 1.0 and lets the
  sort pick which hole patches survive when holes cover more than 75%; here the noise is ``rand + m``, so
  hole patches still go first and the survivors among them are uniformly random. The noise comes from a
  generator keyed by (seed, step, rank), like the data pipeline, so a resumed run draws the same patches.
  Their hole masks are irregular and COCO segmentation masks (40% / 40% / 20% union, ``mae_pretrain.py``
  ``mask_rates=[0.4, 0.8, 1.0]``); here they are whatever :mod:`inpaint.trainer.data` gives (free-form
  strokes and boxes, plus ``--masks`` folders).
- Loss (``forward_loss``, ``norm_pix_loss`` False): per-patch mean of squared error on ImageNet-normalised
  pixels, averaged over the removed patches.
- Optimiser (``mae_pretrain.py``): AdamW, betas (0.9, 0.95), weight decay 0.05 except on 1-D parameters and
  biases (``misc.add_weight_decay``: LayerNorms, biases; the position embeddings are frozen there and buffers
  here; the 3-D ``mask_token`` IS decayed, as in their code and the original MAE). Learning rate
  ``blr * effective_batch / 256`` with ``blr = 1.5e-4`` (README command), linear warm-up from 0 then
  half-cycle cosine to ``min_lr = 0`` (``util/lr_sched.py``), set before every step; their warm-up is 10 of
  200 epochs, so the default here is 5% of the steps. No gradient clipping (``NativeScaler`` without
  ``clip_grad``).
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch

from inpaint.models.mae import MAE, patch_masks, patchify
from inpaint.trainer.task import Task

#: share of patches removed in every sample (``--mask_ratio 0.75``)
MASK_RATIO = 0.75
#: base learning rate per 256 images (README pre-training command ``--blr 1.5e-4``)
BASE_LR = 1.5e-4
BETAS = (0.9, 0.95)
WEIGHT_DECAY = 0.05
#: warm-up share of the run (their 10 warm-up epochs of 200)
WARMUP_FRACTION = 10 / 200


def mixed_patch_mask(hole: torch.Tensor, patch: int, noise: torch.Tensor, ratio: float = MASK_RATIO) -> torch.Tensor:
    """Patches to remove: every patch touched by a hole first, then random ones, ``L - int(L*(1-ratio))`` in all.

    Args:
        hole: (B, 1, H, W) float, 1 = hole.
        noise: (B, L) float in [0, 1), L = (H/patch)*(W/patch): the random order of the patches.
    Returns:
        (B, L) float32 in {0, 1}, 1 = removed; the same count in every row.
    """
    any_hole, _ = patch_masks(hole, patch)
    n = any_hole.shape[1]
    keep = torch.argsort(noise.to(any_hole) + any_hole, dim=1)[:, : int(n * (1 - ratio))]  # smallest: kept
    return torch.ones_like(any_hole).scatter(1, keep, 0.0)


def removed_patch_mse(pred: torch.Tensor, target: torch.Tensor, removed: torch.Tensor) -> torch.Tensor:
    """pred, target: (B, L, p*p*3); removed: (B, L) 1 = removed. Mean over removed patches of the per-patch MSE."""
    per_patch = ((pred - target) ** 2).mean(-1)
    return (per_patch * removed).sum() / removed.sum().clamp_min(1)


def cosine_lr(step: int, base: float, total: int, warmup: int, min_lr: float = 0.0) -> float:
    """Linear warm-up from 0 over ``warmup`` steps, then half-cycle cosine from ``base`` to ``min_lr`` at ``total``
    (their ``adjust_learning_rate`` with steps for epochs); ``step`` = steps completed before this one."""
    if step < warmup:
        return base * step / warmup
    span = max(total - warmup, 1)
    return min_lr + (base - min_lr) * 0.5 * (1.0 + math.cos(math.pi * min(step - warmup, span) / span))


def _rank() -> int:
    dist = torch.distributed
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


class MAETask(Task):
    """MAE pre-training.

    Args:
        model: an :class:`~inpaint.models.mae.MAE` preset.
        total_steps: length of the run (the cosine reaches 0 there; ``cfg.steps``).
        warmup_steps: linear warm-up; None = 5% of ``total_steps``.
        lr: peak learning rate; None = ``1.5e-4 * batch * world_size / 256`` (MAE's scaling rule).
        batch: per-process batch size (for the default ``lr``).
        seed: keys the random patch order with the step and rank.
    """

    def __init__(self, model: MAE, total_steps: int, warmup_steps: int | None = None, lr: float | None = None,
                 batch: int = 256, seed: int = 0, mask_ratio: float = MASK_RATIO, weight_decay: float = WEIGHT_DECAY):
        super().__init__(model)
        self.total_steps = int(total_steps)
        self.warmup_steps = round(WARMUP_FRACTION * self.total_steps) if warmup_steps is None else int(warmup_steps)
        world = int(os.environ.get("WORLD_SIZE", "1"))
        self.lr = BASE_LR * batch * world / 256 if lr is None else float(lr)
        self.seed, self.mask_ratio, self.weight_decay = int(seed), float(mask_ratio), float(weight_decay)

    def optimizers(self):
        decay, no_decay = [], []
        for name, p in self.model.net.named_parameters():
            if p.requires_grad:
                (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
        groups = [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": self.weight_decay}]
        return {"mae": torch.optim.AdamW(groups, lr=self.lr, betas=BETAS)}

    def lr_at(self, step: int) -> float:
        return cosine_lr(step, self.lr, self.total_steps, self.warmup_steps)

    def patch_noise(self, batch: int, step: int, device: torch.device) -> torch.Tensor:
        """(batch, L) uniform noise from a generator keyed by (seed, step, rank): no global random state."""
        key = int(np.random.SeedSequence([self.seed, step, _rank()]).generate_state(1, dtype=np.uint64)[0] >> 1)
        g = torch.Generator().manual_seed(key)
        return torch.rand(batch, self.model.net.num_tokens, generator=g).to(device)

    def training_step(self, batch, ctx):
        lr = self.lr_at(ctx.global_step)
        for group in ctx.optimizers["mae"].param_groups:
            group["lr"] = lr
        image, hole = self.model.to_model_size(batch["image"], batch["mask"])
        removed = mixed_patch_mask(hole, self.model.net.patch, self.patch_noise(image.shape[0], ctx.global_step, image.device), self.mask_ratio)
        x = self.model.normalize(image)
        with ctx.autocast():
            pred = ctx.module("net")(x, removed)
        loss = removed_patch_mse(pred.float(), patchify(x, self.model.net.patch), removed)
        ctx.step(loss, "mae")
        return {"total": float(loss.detach()), "lr": lr}
