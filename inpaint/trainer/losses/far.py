"""FAR's ACR losses, as the authors' ``ACR/trainer.py`` + ``ACR/networks/{losses,pcp}.py`` compute them with
``configs/config_FAR_places2.yml`` (LaMa's losses and LaMa's Places2 settings):

- L1 on the raw generator output (not composited), weighted 10 on known pixels and 0 in the hole, averaged over
  every element (:func:`known_l1`);
- non-saturating adversarial loss (:class:`NonSaturatingAdversarial`): generator ``10 * mean softplus(-D(fake))``
  over all logits (``use_unmasked_for_gen: true``, ``extra_mask_weight_for_gen: 0``: no mask weighting);
  discriminator ``mean softplus(-D(real)) + mean[m softplus(D(fake)) + (1 - m) softplus(-D(fake))]`` with the hole
  mask ``m`` resized to the logits by nearest neighbour (``mask_as_fake_target: true``: the known part of a fake is a
  real target), plus the R1 penalty ``0.001 * mean_b ||d sum D(real) / d real_b||^2`` (``gp_coef``, every step:
  ``D_reg_interval: 1``);
- feature matching (:func:`feature_matching`): ``100 *`` the mean over the discriminator's five intermediate
  feature maps of the MSE between its features of the fake and of the real image, unmasked (``mask=None``);
- high-receptive-field perceptual loss (:class:`HRFPerceptualLoss`): ``30 *`` the sum over ``layer1..layer4`` of the
  frozen ADE20K dilated ResNet50 of the MSE between features of ``clamp(fake, 0, 1)`` and ``clamp(real, 0, 1)``,
  both ImageNet-normalised.

Masks here are (B, 1, H, W) float with 1 = hole (FAR's and the package's convention); images (B, 3, H, W) RGB in
[0, 1]. The paper's text says "WGAN-GP" and "L1 feature matching"; the released code (followed here) uses the
non-saturating loss with R1 and MSE feature matching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from inpaint.models.imagenet import IMAGENET_MEAN, IMAGENET_STD


@dataclass(frozen=True)
class FARLossWeights:
    """Weights of ``configs/config_FAR_places2.yml`` (``trainer:`` section)."""

    #: ``l1.weight_known`` / ``l1.weight_missing``
    l1_known: float = 10.0
    l1_missing: float = 0.0
    #: ``adversarial.weight`` (generator side only)
    adversarial: float = 10.0
    #: ``adversarial.gp_coef`` (R1)
    r1: float = 0.001
    #: ``feature_matching.weight``
    feature_matching: float = 100.0
    #: ``resnet_pl.weight`` (HRF perceptual)
    hrf: float = 30.0


def known_l1(pred: torch.Tensor, target: torch.Tensor, hole: torch.Tensor, weight_known: float = 10.0, weight_missing: float = 0.0) -> torch.Tensor:
    """mean(|pred - target| * (hole * weight_missing + (1 - hole) * weight_known)) over all B*C*H*W elements.

    pred, target: (B, C, H, W) float in [0, 1]; hole: (B, 1, H, W) float, 1 = hole. Returns a scalar.
    """
    weight = hole * weight_missing + (1 - hole) * weight_known
    return (torch.abs(pred - target) * weight).mean()


def feature_matching(fake_features: Sequence[torch.Tensor], real_features: Sequence[torch.Tensor]) -> torch.Tensor:
    """Mean over layers of mean((fake - real)^2) (each layer's MSE averaged over its own elements; unweighted).

    fake_features, real_features: the discriminator's intermediate maps, pairwise equal shapes (B, C_i, h_i, w_i).
    The real features are targets: pass them computed without gradient, or detached.
    """
    if len(fake_features) != len(real_features) or not fake_features:
        raise ValueError(f"feature_matching: {len(fake_features)} fake vs {len(real_features)} real feature maps")
    return torch.stack([F.mse_loss(f, r) for f, r in zip(fake_features, real_features)]).mean()


def resize_mask(hole: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """hole (B, 1, H, W) -> (B, 1, *size) by nearest neighbour (the config's ``mask_scale_mode: nearest``)."""
    if tuple(hole.shape[-2:]) == tuple(size):
        return hole
    return F.interpolate(hole, size=tuple(size), mode="nearest")


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """mean over the batch of ||d(sum real_logits) / d real_b||_2^2 (Mescheder et al. 2018's R1, unscaled).

    real_logits: D's output for ``real``, computed with ``real.requires_grad`` True; real: (B, C, H, W).
    Keeps the graph (``create_graph=True``) so the penalty trains D.
    """
    (grad,) = torch.autograd.grad(outputs=real_logits.float().sum(), inputs=real, create_graph=True)
    return grad.float().flatten(1).pow(2).sum(1).mean()


class NonSaturatingAdversarial:
    """The non-saturating GAN loss with R1 (LaMa's ``NonSaturatingWithR1`` as the FAR config sets it).

    ``weight`` scales the generator term, ``r1_weight`` the penalty; ``mask_as_fake_target`` makes the known pixels
    of a fake count as real for D (module docstring). Logits are (B, 1, h, w) float; hole (B, 1, H, W), 1 = hole.
    """

    def __init__(self, weight: float = 10.0, r1_weight: float = 0.001, mask_as_fake_target: bool = True):
        self.weight, self.r1_weight, self.mask_as_fake_target = weight, r1_weight, mask_as_fake_target

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """weight * mean softplus(-fake_logits) over all logits (no mask weighting in the FAR config)."""
        return F.softplus(-fake_logits.float()).mean() * self.weight

    def discriminator_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor, hole: torch.Tensor, real: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """D's loss: real term + fake term (+ r1_weight * R1 when ``real`` is given: the images ``real_logits`` came
        from, with ``requires_grad`` True). Returns (loss, {"d_real", "d_fake", "r1"}), each a scalar tensor."""
        real_logits, fake_logits = real_logits.float(), fake_logits.float()
        d_real = F.softplus(-real_logits).mean()
        fake_term = F.softplus(fake_logits)
        if self.mask_as_fake_target:
            m = resize_mask(hole.float(), fake_logits.shape[-2:])
            fake_term = m * fake_term + (1 - m) * F.softplus(-fake_logits)
        d_fake = fake_term.mean()
        r1 = r1_penalty(real_logits, real) * self.r1_weight if real is not None else real_logits.new_zeros(())
        return d_real + d_fake + r1, {"d_real": d_real, "d_fake": d_fake, "r1": r1}


class HRFPerceptualLoss(nn.Module):
    """``weight * sum_l mse(E_l(norm(clamp(pred))), E_l(norm(clamp(target))))`` over the encoder's feature maps.

    encoder: a module mapping ImageNet-normalised (B, 3, H, W) RGB to a list of feature maps, normally
    :class:`~inpaint.trainer.losses.resnet.FrozenResNet50Dilated` (frozen, eval). Use :meth:`from_weights` to build
    it from the ADE20K encoder file.

    forward(pred, target): (B, 3, H, W) float RGB in [0, 1] (clamped to [0, 1] first, as the authors do); the
    target's features are computed without gradient. Returns a scalar.
    """

    def __init__(self, encoder: nn.Module, weight: float = 30.0):
        super().__init__()
        self.encoder = encoder
        self.weight = weight
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    @classmethod
    def from_weights(cls, path, weight: float = 30.0) -> "HRFPerceptualLoss":
        """The ADE20K resnet50dilated encoder from ``path`` (``encoder_epoch_20.pth`` or .safetensors), frozen."""
        from inpaint.trainer.losses.resnet import FrozenResNet50Dilated

        return cls(FrozenResNet50Dilated(path), weight)

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x.clamp(0, 1) - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pred_features = self.encoder(self._normalize(pred))
        with torch.no_grad():
            target_features = self.encoder(self._normalize(target))
        losses = [F.mse_loss(p.float(), t.float()) for p, t in zip(pred_features, target_features)]
        return torch.stack(losses).sum() * self.weight
