"""FAR: prior Feature and Attention enhanced Restoration (Cao, Dong, Fu, ECCV 2022): a frozen MAE gives prior
features and attention at 256 x 256, the ACR (:mod:`inpaint.models.acr`) inpaints the full-size image.

Reads top to bottom: how the MAE's 256 x 256 input is made (:func:`mae_inputs`), the interface wrapper
:class:`FAR`, then the presets.

The MAE input, as the authors' ``DynamicFARDataset.load_item`` makes it: the image is resized to 256 x 256 with
``cv2.INTER_AREA`` when it shrinks and ``INTER_LINEAR`` when it grows (decided per axis here, the authors decide
for both axes at once and only meet squares); the MAE normalises it (ImageNet mean/std) itself. The mask is
resized with ``INTER_AREA`` and every non-zero pixel made a hole, so a 256 x 256 pixel is a hole as soon as
any source pixel under it is: no hole pixel can vanish (which a bilinear resize of the mask would allow for
shrink factors above 2, letting the content to be removed leak into the prior). Both resizes are separable
matrices built in the graph from H and W, so they export with dynamic sizes (``MAE.to_model_size`` does the
same with ``F.interpolate`` and a Python branch on the size, which a dynamic-shape export cannot trace, and
its ``mode="area"`` is an adaptive average pool, which differs from ``INTER_AREA`` for non-integer factors
such as 384 -> 256).
"""

from __future__ import annotations

from typing import Any

import torch

from inpaint.models import mae as _mae  # noqa: F401  (registers the MAE presets FAR builds on)
from inpaint.models.acr import ACRGenerator
from inpaint.models.base import InpaintModel
from inpaint.models.registry import build_family, build_model, register_family, register_preset

#: the MAE always runs at this size (256 x 256, 16 x 16 patches of 16 pixels; the authors' ``img_256``)
MAE_SIZE = 256
#: H and W multiple: the ACR's 1/8 features hold 16 x 16 tokens times an integer rate
STRIDE = 128


# --- MAE input ---------------------------------------------------------------------------------------------

def _resize_matrix(n_in: int, n_out: int, like: torch.Tensor, linear_when_growing: bool) -> torch.Tensor:
    """(n_out, n_in) float32 weights of a 1-D resize, rows summing to 1.

    Shrinking (and ``linear_when_growing=False``): area weights, the overlap of output pixel i, source interval
    [i*s, (i+1)*s) with s = n_in/n_out, with source pixel [j, j+1), divided by s (``cv2.INTER_AREA``; growing
    by an integer factor this repeats pixels, as cv2 does). Growing with ``linear_when_growing``: linear
    interpolation at source position (i + 0.5) * s - 0.5 clamped to [0, n_in - 1] (``cv2.INTER_LINEAR`` =
    ``F.interpolate(mode="bilinear", align_corners=False)``). The choice is made with tensor ops on n_in, not a
    Python branch, so symbolic sizes export.
    """
    j = torch.arange(n_in, device=like.device, dtype=torch.float32)  # (n_in,)
    i = torch.arange(n_out, device=like.device, dtype=torch.float32)[:, None]  # (n_out, 1)
    s = (j[-1] + 1) / n_out  # n_in / n_out as a tensor
    area = (torch.minimum((i + 1) * s, j + 1) - torch.maximum(i * s, j)).clamp(min=0) / s  # (n_out, n_in)
    if not linear_when_growing:
        return area
    src = ((i + 0.5) * s - 0.5).clamp(min=0).minimum(j[-1])  # (n_out, 1)
    linear = (1 - (src - j).abs()).clamp(min=0)  # (n_out, n_in)
    return torch.where(s > 1, area, linear)


def mae_inputs(image: torch.Tensor, mask: torch.Tensor, size: int = MAE_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """The MAE's inputs from the full-size ones (see the module docstring).

    Args:
        image: (B, 3, H, W) float32 in [0, 1].
        mask: (B, 1, H, W) float32, 1 = hole.
    Returns:
        image: (B, 3, size, size) float32 in [0, 1] (area / linear resize).
        mask: (B, 1, size, size) float32 in {0, 1}, 1 = hole wherever any source pixel under it is a hole.
    """
    h, w = image.shape[-2:]
    rows, cols = _resize_matrix(h, size, image, True), _resize_matrix(w, size, image, True)
    small = rows @ image.float() @ cols.T  # (B, 3, size, size)
    rows, cols = _resize_matrix(h, size, image, False), _resize_matrix(w, size, image, False)
    small_mask = ((rows @ (mask.float() > 0.5).float() @ cols.T) > 0).float()  # (B, 1, size, size)
    return small.to(image.dtype), small_mask.to(mask.dtype)


# --- the model ---------------------------------------------------------------------------------------------

class FAR(InpaintModel):
    """FAR behind the package interface (see :mod:`inpaint.models.base`).

    Args:
        mae_preset, mae_args: the MAE preset and its overrides.
        train_size: the size the model is trained at (export metadata).
        acr_args: :class:`~inpaint.models.acr.ACRGenerator` arguments (``ngf``, ``n_blocks``, ...); its prior width
            is the MAE's decoder width.

    ``self.mae``: the MAE (:class:`~inpaint.models.mae.MAE`), frozen: no gradients, always in eval mode, run under
    ``torch.no_grad``. ``self.net``: the ACR (:class:`~inpaint.models.acr.ACRGenerator`), the trainable part
    (the generic trainer's default ``trainable()``); ``self.acr`` is the same module.

    ``predict(image, mask)`` (H, W multiples of 128): MAE prior on the 256 x 256 :func:`mae_inputs`, then the ACR
    on the full image. :meth:`prior` and ``net(image, mask, features, attention)`` separately are what a trainer needs.
    """

    stride = STRIDE

    def __init__(self, mae_preset: str = "mae", mae_args: dict[str, Any] | None = None, train_size: int = 256,
                 **acr_args: Any):
        super().__init__()
        self.train_size = train_size
        self.mae = build_model(mae_preset, **(mae_args or {}))
        self.mae.requires_grad_(False).eval()
        self.net = ACRGenerator(prior_ch=self.mae.feature_channels, **acr_args)

    @property
    def acr(self) -> ACRGenerator:
        return self.net

    def train(self, mode: bool = True) -> "FAR":
        super().train(mode)
        self.mae.eval()  # frozen: dropout off, statistics fixed, also while the ACR trains
        return self

    def prior(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The MAE's prior for full-size inputs: (features (B, C_prior, 16, 16), attention (B, 256, 256)).

        image (B, 3, H, W) in [0, 1], mask (B, 1, H, W) 1 = hole; no gradients flow into the MAE.
        """
        with torch.no_grad():
            features, attention = self.mae.prior(*mae_inputs(image, mask))
        return features.detach(), attention.detach()

    def predict(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        features, attention = self.prior(image, mask)
        return self.net(image, mask, features, attention)


register_family("far", FAR)


@register_preset
def far(**overrides):
    """The paper's FAR: MAE ``mae`` (ViT-B encoder, 512-wide decoder) + ACR (ngf 64, 9 FFC blocks);
    the ACR has 40,988,491 parameters, as the authors' ``ACRModel`` (G 27,049,795 + GCs 13,938,696)."""
    args = dict(mae_preset="mae", ngf=64, n_blocks=9)
    return build_family("far", "far", **{**args, **overrides})


@register_preset
def far_s(**overrides):
    """Small FAR for CPU training: MAE ``mae-s`` (256-wide decoder) + ACR with half the paper's widths
    (ngf 32: 32 -> 256 channels) and 6 FFC blocks."""
    args = dict(mae_preset="mae-s", ngf=32, n_blocks=6)
    return build_family("far", "far-s", **{**args, **overrides})


@register_preset
def far_t(**overrides):
    """Tiny FAR for tests: MAE ``mae-t`` + ACR with ngf 8 (8 -> 64 channels) and one FFC block."""
    args = dict(mae_preset="mae-t", ngf=8, n_blocks=1)
    return build_family("far", "far-t", **{**args, **overrides})
