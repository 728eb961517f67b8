"""MADF: mask-aware dynamic filtering with cascaded refinement (Zhu et al., IEEE TIP 2021).

Built as the authors' ``net.py`` (github MADF-inpainting/Pytorch-MADF) builds it; ``DESIGN.md`` has the table.
Conventions inside the network: images ImageNet-normalised (``MEAN``/``STD``), holes zeroed in that space,
mask 1 = KNOWN, repeated to 3 channels. :class:`MADF` converts from the package-wide convention.

Reads top to bottom: encoder level, recovery level, point-wise normalisation, refinement level,
the raw network :class:`MADFNet`, the interface wrapper :class:`MADF`, then the presets.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from inpaint.models.base import InpaintModel
from inpaint.models.imagenet import IMAGENET_MEAN, IMAGENET_STD
from inpaint.models.prefill import push_pull_fill
from inpaint.models.registry import build_family, register_family, register_preset
from inpaint.ops.conv_transpose import conv_transpose2d
from inpaint.ops.dynamic_conv.op import mask_aware_dynamic_conv

#: the authors normalise with ImageNet statistics (their ``opt.py``)
MEAN, STD = IMAGENET_MEAN, IMAGENET_STD
#: LeakyReLU slope of every decoder (the authors' code).
LEAKY_SLOPE = 0.2


class EncoderLevel(nn.Module):
    """One encoder level: mask branch, kernel generator, dynamic conv, 1x1 skip projection.

    forward(e, m) with e (B, C_in, H, W), m (B, C_m_in, H, W) returns
    e' (B, C_out, H/s, W/s), m' (B, mask_channels, H/s, W/s), u (B, up_channels, H/s, W/s).
    """

    def __init__(self, in_ch: int, out_ch: int, up_ch: int, mask_in: int, mask_ch: int, k: int, stride: int = 2):
        super().__init__()
        self.k, self.stride, self.pad = k, stride, k // 2
        self.mask_conv = nn.Conv2d(mask_in, mask_ch, k, stride, self.pad)
        self.kernel_gen = nn.Conv2d(mask_ch, in_ch * k * k * out_ch, 1)
        self.up = nn.Conv2d(out_ch, up_ch, 1)

    def forward(self, e: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m = F.relu(self.mask_conv(m))
        e = F.relu(mask_aware_dynamic_conv(e, m, self.kernel_gen.weight, self.kernel_gen.bias, self.k, self.stride, self.pad))
        return e, m, F.relu(self.up(e))


class RecoveryLevel(nn.Module):
    """Recovery decoder level i: deconv x2 (+ BN + LeakyReLU), then a 3x3 conv over cat[skip, up].

    The last level (to full resolution) has neither BN nor activations (the authors' deconv_1 / att_conv_1).
    """

    def __init__(self, in_ch: int, out_ch: int, skip_ch: int, last: bool):
        super().__init__()
        self.last = last
        self.deconv = nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1)
        self.bn = nn.Identity() if last else nn.BatchNorm2d(out_ch)
        self.fuse = nn.Conv2d(skip_ch + out_ch, out_ch, 3, 1, 1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        up = conv_transpose2d(x, self.deconv)  # exported as 4 phase convolutions (inpaint.ops.conv_transpose)
        if not self.last:
            up = F.leaky_relu(self.bn(up), LEAKY_SLOPE)
        y = self.fuse(torch.cat([skip, up], 1))
        return y if self.last else F.relu(y)


class PointwiseNorm(nn.Module):
    """PN (SPADE-like): BN(affine=False)(x) * (1 + gamma(g)) + beta(g), g resized to x."""

    def __init__(self, ch: int, guide_ch: int, hidden: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(ch, affine=False)
        self.shared = nn.Conv2d(guide_ch, hidden, 3, 1, 1)
        self.gamma = nn.Conv2d(hidden, ch, 3, 1, 1)
        self.beta = nn.Conv2d(hidden, ch, 3, 1, 1)

    def forward(self, x: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        if guide.shape[-2:] != x.shape[-2:]:
            guide = F.interpolate(guide, size=x.shape[-2:], mode="bilinear")
        a = F.relu(self.shared(guide))
        return self.norm(x) * (1 + self.gamma(a)) + self.beta(a)


class RefineLevel(nn.Module):
    """Refinement decoder level: deconv x2 -> PN(guide) -> LeakyReLU."""

    def __init__(self, in_ch: int, out_ch: int, hidden: int):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1)
        self.pn = PointwiseNorm(out_ch, out_ch, hidden)

    def forward(self, x: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.pn(conv_transpose2d(x, self.deconv), guide), LEAKY_SLOPE)


class RefineDecoder(nn.Module):
    """Refinement decoder r (0-based): levels L..2, then bilinear x2 and a 1x1 head over
    cat[feature, recovery, earlier refinements, network input]."""

    def __init__(self, up_ch: tuple[int, ...], hidden: int, n_previous: int, in_ch: int = 6):
        super().__init__()
        levels = len(up_ch)
        self.levels = nn.ModuleList(RefineLevel(up_ch[i], up_ch[i - 1], hidden) for i in range(levels - 1, 0, -1))
        self.head = nn.Conv2d(up_ch[0] + 3 * n_previous + in_ch, 3, 1)


class MADFNet(nn.Module):
    """The raw network. forward(x, known) -> [recovery, refine_1, ..., refine_K].

    Args:
        x: (B, 3, H, W) ImageNet-normalised RGB with holes set to 0 (in that space).
        known: (B, 3, H, W) float, 1 = known, 0 = hole.
    Returns:
        K+1 tensors (B, 3, H, W) in the ImageNet-normalised space, not composited.
    H and W must be multiples of 2**levels.
    """

    def __init__(
        self,
        enc_channels: tuple[int, ...] = (16, 32, 64, 128, 128, 128, 128),
        up_channels: tuple[int, ...] = (64, 128, 256, 512, 512, 512, 512),
        kernels: tuple[int, ...] = (7, 5, 3, 3, 3, 3, 3),
        mask_channels: int = 16,
        refinements: int = 2,
        pn_hidden: int = 128,
    ):
        super().__init__()
        if not len(enc_channels) == len(up_channels) == len(kernels):
            raise ValueError("enc_channels, up_channels and kernels need one entry per level")
        levels = len(enc_channels)
        e_in, m_in = (6, *enc_channels[:-1]), (3, *([mask_channels] * (levels - 1)))
        self.encoder = nn.ModuleList(
            EncoderLevel(e_in[i], enc_channels[i], up_channels[i], m_in[i], mask_channels, kernels[i]) for i in range(levels)
        )
        # recovery[j] goes from level L-j to L-j-1; skips are u_{L-1}..u_1 and finally the 6-channel input
        skip = (6, *up_channels[:-1])
        out = (3, *up_channels[:-1])
        self.recovery = nn.ModuleList(
            RecoveryLevel(up_channels[i], out[i], skip[i], last=(i == 0)) for i in range(levels - 1, -1, -1)
        )
        self.refine = nn.ModuleList(RefineDecoder(up_channels, pn_hidden, n_previous=r + 1) for r in range(refinements))

    def forward(self, x: torch.Tensor, known: torch.Tensor) -> list[torch.Tensor]:
        h0 = torch.cat([x, known], 1)  # (B, 6, H, W)
        e, m, skips = h0, known, [h0]
        for level in self.encoder:
            e, m, u = level(e, m)
            skips.append(u)
        # recovery decoder; keep its feature at every level to guide the first refinement decoder
        guides, y = [], skips[-1]
        for j, level in enumerate(self.recovery):
            y = level(y, skips[-2 - j])
            guides.append(y)
        outputs = [guides.pop()]  # the full-resolution recovery output
        for decoder in self.refine:
            h, new_guides = skips[-1], []
            for level, guide in zip(decoder.levels, guides):
                h = level(h, guide)
                new_guides.append(h)
            h = F.interpolate(h, scale_factor=2, mode="bilinear")
            outputs.append(decoder.head(torch.cat([h, *outputs, h0], 1)))
            guides = new_guides
        return outputs


#: what the network sees under the holes: ``zero`` as the authors; ``pushpull`` a smooth fill it corrects
PREFILLS = ("zero", "pushpull")


class MADF(InpaintModel):
    """MADF behind the package interface (see :mod:`inpaint.models.base`). ``self.net`` is the raw
    network for training; :meth:`network_inputs` builds its inputs and :meth:`finish` its outputs.

    ``prefill="zero"`` is the authors' network: holes zeroed, every output predicted directly.
    ``prefill="pushpull"`` fills the holes with :func:`~inpaint.models.prefill.push_pull_fill` (over all
    ``levels``, in the normalised space) and makes every output a correction added to that input; the
    output heads start at zero, so an untrained network returns the push-pull fill. Same layers and parameter
    count; a CPU-budget choice (README, "The bundled default model").
    """

    def __init__(self, train_size: int = 256, prefill: str = "zero", **net_args):
        super().__init__()
        if prefill not in PREFILLS:
            raise ValueError(f"prefill={prefill!r}: one of {', '.join(PREFILLS)}")
        self.net = MADFNet(**net_args)
        self.stride = 2 ** len(self.net.encoder)
        self.train_size = train_size
        self.prefill = prefill
        if prefill == "pushpull":  # residual outputs: start exactly at the fill
            for head in (self.net.recovery[-1].fuse, *(d.head for d in self.net.refine)):
                nn.init.zeros_(head.weight)
                nn.init.zeros_(head.bias)
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)

    def normalize(self, image: torch.Tensor) -> torch.Tensor:
        """[0, 1] RGB -> ImageNet-normalised."""
        return (image - self.mean) / self.std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet-normalised -> [0, 1] RGB (not clamped)."""
        return x * self.std + self.mean

    def network_inputs(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """image (B,3,H,W) in [0,1], mask (B,1,H,W) 1 = hole -> (x, known) as :class:`MADFNet` takes them."""
        known = (1 - mask).expand(-1, 3, -1, -1)
        x = self.normalize(image)
        if self.prefill == "pushpull":
            return push_pull_fill(x, known[:, :1], len(self.net.encoder)), known
        return x * known, known

    def finish(self, outputs: list[torch.Tensor], x: torch.Tensor) -> list[torch.Tensor]:
        """The raw network's outputs -> the model's (normalised space): corrections added to ``x`` for
        ``prefill="pushpull"``, unchanged for ``zero``."""
        return [o + x for o in outputs] if self.prefill == "pushpull" else outputs

    def predict(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x, known = self.network_inputs(image, mask)
        return self.denormalize(self.finish(self.net(x, known), x)[-1])


register_family("madf", MADF)


@register_preset
def madf(**overrides):
    """The paper's network: L = 7, K = 2; 85,139,966 parameters, about 28.3 GMAC at 256x256."""
    return build_family("madf", "madf", **overrides)


@register_preset
def madf_s(**overrides):
    """Small MADF for CPU training and the bundled default: the paper's 7 levels and kernels (same receptive
    field), half the encoder channels from level 3 on, 3/16 to 1/2 of the skip/decoder channels; 6.7 M parameters
    (26.8 MB in float32, under the 30 MB the bundled model may take)."""
    args = dict(
        enc_channels=(16, 32, 48, 64, 64, 64, 64),
        up_channels=(32, 64, 96, 96, 96, 96, 96),
        mask_channels=16,
        pn_hidden=32,
    )
    return build_family("madf", "madf-s", **{**args, **overrides})


@register_preset
def madf_t(**overrides):
    """Tiny MADF for tests: 4 levels (stride 16), a few channels."""
    args = dict(
        enc_channels=(4, 8, 8, 8),
        up_channels=(8, 8, 16, 16),
        kernels=(7, 5, 3, 3),
        mask_channels=4,
        pn_hidden=8,
        train_size=64,
    )
    return build_family("madf", "madf-t", **{**args, **overrides})
