"""FAR training: the ACR against a PatchGAN with LaMa's losses, the MAE frozen (the authors' ``ACR/trainer.py``).

One training step, as their ``PLTrainer.training_step`` runs it with ``configs/config_FAR_places2.yml``:

1. the MAE prior (features + attention) of the batch, without gradients (:meth:`inpaint.models.far.FAR.prior`);
2. generator step: ``fake = ACR(image, mask, prior)`` (raw sigmoid output, not composited); the discriminator,
   frozen for this step, scores ``fake`` (logits + features) and then the photo (features, targets for feature
   matching); loss = known-pixel L1 (10) + non-saturating adversarial (10) + feature matching (100)
   [+ HRF perceptual (30) when the segmentation ResNet50 weights are given]; Adam step of the ACR;
3. discriminator step on the same ``fake`` (detached, from before the generator's update, as their
   ``gen_img_for_train``): ``softplus(-D(real))`` + mask-weighted fake term + 0.001 * R1 on the photos; Adam step.

The discriminator runs in train mode throughout (BatchNorm batch statistics, as theirs). Optimisers: Adam
(0.9, 0.999), eps 1e-8, G 1e-3, D 1e-4; both learning rates halve after steps 600k, 700k and 800k (the config's
``decay_steps``/``decay_rate``; the paper's text says every 200k). Not reproduced: their optional EMA of the
generator (``--use_ema``, off by default) and the sample images they write every 2000 steps (the trainer's
validation grid in TensorBoard plays that part).

Under torchrun the ACR and the discriminator are DDP-wrapped (``trainable()``); the generator step calls the
*unwrapped* discriminator with its parameters frozen so that no DDP reduction is pending for it. The R1 pass on
the photos runs in float32 even under AMP (a double backward through fp16 activations under- and overflows).
"""

from __future__ import annotations

import logging

import torch

from inpaint.models.far import FAR
from inpaint.trainer.discriminator import PatchDiscriminator
from inpaint.trainer.losses.far import FARLossWeights, HRFPerceptualLoss, NonSaturatingAdversarial, feature_matching, known_l1
from inpaint.trainer.task import Task

log = logging.getLogger("inpaint.trainer")

#: configs/config_FAR_places2.yml ``optimizer``: g_opt / d_opt lr, beta1, beta2 (the paper: the same)
LR_G, LR_D, BETAS, EPS = 1e-3, 1e-4, (0.9, 0.999), 1e-8
#: ``optimizer.decay_steps`` and ``decay_rate``: the learning rates are multiplied by 0.5 after each milestone
DECAY_STEPS, DECAY_RATE = (600_000, 700_000, 800_000), 0.5


def lr_factor(step: int, milestones: tuple[int, ...] = DECAY_STEPS, rate: float = DECAY_RATE) -> float:
    """rate ** (number of milestones < step); ``step`` = steps completed before this one (their LambdaLR)."""
    return rate ** sum(1 for m in milestones if m < step)


class FARTask(Task):
    """Trains ``model.net`` (the ACR) and a discriminator; ``model.mae`` stays frozen.

    Args:
        model: a :class:`~inpaint.models.far.FAR` with its MAE weights loaded.
        hrf: the HRF perceptual loss (:meth:`HRFPerceptualLoss.from_weights`), or None to train with the pixel,
            adversarial and feature-matching losses only.
        discriminator: default :class:`PatchDiscriminator()` (the authors' ``NLayerDiscriminator``).
        lr, lr_d: Adam learning rates of the generator and the discriminator.
        weights: loss weights (default: the authors' Places2 config).
    """

    def __init__(self, model: FAR, hrf: HRFPerceptualLoss | None = None, discriminator: torch.nn.Module | None = None,
                 lr: float = LR_G, lr_d: float = LR_D, weights: FARLossWeights = FARLossWeights()):
        super().__init__(model)
        self.disc = discriminator if discriminator is not None else PatchDiscriminator()
        self.hrf = hrf
        self.weights = weights
        self.adversarial = NonSaturatingAdversarial(weights.adversarial, weights.r1)
        self.lr, self.lr_d = lr, lr_d
        model.mae.requires_grad_(False).eval()

    def trainable(self):
        return {"net": self.model.net, "disc": self.disc}

    def extra_modules(self):
        return {"disc": self.disc}

    def to(self, device):
        self.disc.to(device)
        if self.hrf is not None:
            self.hrf.to(device)
        return super().to(device)

    def optimizers(self):
        return {
            "G": torch.optim.Adam(self.model.net.parameters(), lr=self.lr, betas=BETAS, eps=EPS),
            "D": torch.optim.Adam(self.disc.parameters(), lr=self.lr_d, betas=BETAS, eps=EPS),
        }

    def _schedule(self, ctx) -> None:
        factor = lr_factor(ctx.global_step)
        for name, base in (("G", self.lr), ("D", self.lr_d)):
            for group in ctx.optimizers[name].param_groups:
                group["lr"] = base * factor

    def training_step(self, batch, ctx):
        """batch: ``image`` (B, 3, H, W) float in [0, 1], ``mask`` (B, 1, H, W) float, 1 = hole; H, W multiples of 128.
        Returns floats: ``total`` (the generator's loss) and its terms ``l1``, ``adv``, ``fm``, ``hrf`` (when on),
        then the discriminator's ``d_total``, ``d_real``, ``d_fake``, ``r1``."""
        w = self.weights
        image = batch["image"]
        hole = (batch["mask"] > 0.5).to(image.dtype)
        self._schedule(ctx)
        self.model.mae.eval()
        self.disc.train()
        with ctx.autocast():
            prior, attention = self.model.prior(image, hole)  # no gradients (FAR.prior)

        # ---- generator step (the discriminator frozen and unwrapped: see the module docstring)
        self.disc.requires_grad_(False)
        try:
            with ctx.autocast():
                fake = ctx.module("net")(image, hole, prior, attention)
                fake_logits, fake_features = self.disc(fake)
                with torch.no_grad():
                    _, real_features = self.disc(image)
                hrf = self.hrf(fake, image) if self.hrf is not None else None
            fake = fake.float()
            terms = {
                "l1": known_l1(fake, image, hole, w.l1_known, w.l1_missing),
                "adv": self.adversarial.generator_loss(fake_logits),
                "fm": feature_matching([f.float() for f in fake_features], [r.float() for r in real_features]) * w.feature_matching,
            }
            if hrf is not None:
                terms["hrf"] = hrf.float()
            loss_g = torch.stack(list(terms.values())).sum()
            ctx.step(loss_g, "G")
        finally:
            self.disc.requires_grad_(True)

        # ---- discriminator step on the same (detached) output
        disc = ctx.module("disc")
        real = image.detach().clone().requires_grad_(w.r1 > 0)
        real_logits, _ = disc(real)  # float32: R1 differentiates through this pass twice
        with ctx.autocast():
            fake_logits, _ = disc(fake.detach())
        loss_d, parts = self.adversarial.discriminator_loss(real_logits, fake_logits, hole, real if w.r1 > 0 else None)
        ctx.step(loss_d, "D")

        metrics = {"total": float(loss_g.detach())}
        metrics.update({k: float(v.detach()) for k, v in terms.items()})
        metrics["d_total"] = float(loss_d.detach())
        metrics.update({k: float(v.detach()) for k, v in parts.items()})
        return metrics


def load_mae(model: FAR, path) -> None:
    """Load an MAE checkpoint of this package's format (``inpaint train mae`` writes one) into ``model.mae``.

    Its preset and architecture must be the ones ``model`` was built with (``far`` <- ``mae``, ``far-s`` <- ``mae-s``,
    ``far-t`` <- ``mae-t``); anything else is a one-line :class:`~inpaint.errors.UserError`. The MAE stays frozen.
    """
    import json

    from inpaint.errors import UserError
    from inpaint.models.checkpoint import load_model, read_metadata

    meta = read_metadata(path)  # CheckpointError (a UserError) for a missing or foreign file
    config = json.loads(meta["config"])
    want = model.mae.config
    if config.get("family") != "mae":
        raise UserError(f"--mae {path}: a '{config.get('preset', config.get('family'))}' checkpoint, not an MAE; give a checkpoint written by 'inpaint train mae --preset {want['preset']}'")
    same_args = config.get("args") == json.loads(json.dumps(want["args"]))
    if config.get("preset") != want["preset"] or not same_args:
        what = f"an '{config.get('preset')}' MAE" + ("" if config.get("preset") != want["preset"] else " with other arguments")
        raise UserError(f"--mae {path}: {what}, but preset {model.config['preset']} is built on '{want['preset']}'; train one with 'inpaint train mae --preset {want['preset']}' or choose the FAR preset of that MAE")
    model.mae.load_state_dict(load_model(path).state_dict(), strict=True)
    model.mae.requires_grad_(False).eval()
