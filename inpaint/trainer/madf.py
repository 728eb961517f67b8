"""MADF training: the authors' losses with incremental supervision, Adam as the paper."""

from __future__ import annotations

import torch

from inpaint.models.madf import MADF
from inpaint.trainer.losses import MADFLoss, VGG16Features
from inpaint.trainer.task import Task

#: The paper / the authors' train.py: Adam, lr 2e-4, betas (0.9, 0.999).
LR, BETAS = 2e-4, (0.9, 0.999)


class MADFTask(Task):
    """``vgg`` None trains with the pixel losses only (``--perceptual off``)."""

    def __init__(self, model: MADF, vgg: VGG16Features | None = None, lr: float = LR):
        super().__init__(model)
        self.loss = MADFLoss(vgg)
        self.lr = lr

    def to(self, device):
        self.loss.to(device)
        return super().to(device)

    def optimizers(self):
        return {"G": torch.optim.Adam(self.model.net.parameters(), lr=self.lr, betas=BETAS)}

    def training_step(self, batch, ctx):
        image, hole = batch["image"], batch["mask"]
        x, known = self.model.network_inputs(image, hole)
        with ctx.autocast():
            outputs = ctx.module("net")(x, known)
        outputs = self.model.finish([o.float() for o in outputs], x)
        loss, metrics = self.loss(outputs, self.model.normalize(image), known[:, :1])
        ctx.step(loss, "G")
        return metrics
