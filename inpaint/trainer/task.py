"""What a model family writes to be trained (LaMa's split): its modules, optimisers and one step.

The :class:`~inpaint.trainer.loop.Trainer` owns everything else: devices, AMP, DDP, data, logging,
validation and checkpoints.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import torch
from torch import nn

from inpaint.models.base import InpaintModel

if TYPE_CHECKING:
    from inpaint.trainer.loop import StepContext


class Task(ABC):
    """Base of ``MADFTask``, ``MAETask``, ``FARTask``."""

    def __init__(self, model: InpaintModel):
        self.model = model

    def trainable(self) -> dict[str, nn.Module]:
        """Modules that take part in training; each is moved to the device and, under torchrun, wrapped
        in DDP. ``StepContext.module(name)`` returns the wrapped one. Default: the raw network."""
        return {"net": self.model.net}

    def to(self, device: torch.device) -> "Task":
        """Move the model and every loss module to ``device`` (subclasses add theirs)."""
        self.model.to(device)
        return self

    def extra_modules(self) -> dict[str, nn.Module]:
        """Trained modules that are not part of the exported model (a discriminator); saved in the train state."""
        return {}

    @abstractmethod
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Name -> optimiser, created once after the modules are on their device."""

    @abstractmethod
    def training_step(self, batch: dict[str, torch.Tensor], ctx: "StepContext") -> dict[str, float]:
        """One optimisation step on ``batch`` (``image`` (B,3,H,W) in [0,1], ``mask`` (B,1,H,W) 1 = hole),
        calling ``ctx.step(loss, optimiser_name)``; returns scalar metrics for logging (``total`` first)."""
