"""Fast Fourier Convolution (Chi et al., NeurIPS 2020) as LaMa (Suvorov et al., WACV 2022) and the FAR authors'
``ACR/networks/ffc.py`` build it, one concept a class:

    FourierUnit -> SpectralTransform -> FFC -> FFC_BN_ACT -> FFCResnetBlock

A feature map is split along channels into a *local* part (ordinary 3x3 convs) and a *global* part (a
spectral transform whose receptive field is the whole image). Parameter names are LaMa's, so LaMa-layout
state dicts load by name. FAR uses only what its generator needs: stride 1, no local Fourier unit
(``enable_lfu=False`` in the authors' ``FFCResnetBlock``), no gating, reflect padding in the spatial convs.

The 2-D real FFTs go through :mod:`inpaint.ops.fft.op` (``torch.fft`` normally, constant DFT matrices while
exporting to ONNX), always in float32 with ``norm="ortho"`` (the authors' ``fft_norm``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from inpaint.ops.fft.op import irfft2, rfft2
from inpaint.ops.mode import exporting

#: FAR's share of global (spectral) channels in every FFC of its residual blocks (the authors' 0.75 in/out).
GLOBAL_RATIO = 0.75


def split_channels(channels: int, ratio_global: float) -> tuple[int, int]:
    """(local, global) channel counts as LaMa splits them: global = int(channels * ratio)."""
    global_ch = int(channels * ratio_global)
    return channels - global_ch, global_ch


class FourierUnit(nn.Module):
    """Pointwise conv in the frequency domain: rfft2 -> 1x1 conv over (re, im) -> BN -> ReLU -> irfft2.

    forward(x: (B, C_in, H, W)) -> (B, C_out, H, W) float32. The spectrum (B, C, H, W//2+1) complex is seen as
    2*C real channels interleaved per channel (c0.re, c0.im, c1.re, ...), the authors' (and LaMa's) layout,
    which is what :func:`~inpaint.ops.fft.op.rfft2` returns and :func:`~inpaint.ops.fft.op.irfft2` takes.
    """

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv_layer = nn.Conv2d(2 * in_ch, 2 * out_ch, kernel_size=1, bias=False)
        self.bn = nn.BatchNorm2d(2 * out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = rfft2(x)  # (B, 2C_in, H, W//2+1) float32
        f = F.relu(self.bn(self.conv_layer(f)))  # (B, 2C_out, H, W//2+1)
        return irfft2(f, x.shape[-2:])  # (B, C_out, H, W) float32


class SpectralTransform(nn.Module):
    """Global branch of an FFC: 1x1 conv to C_out/2 (+BN+ReLU) -> FourierUnit -> residual -> 1x1 conv to C_out.

    forward(x: (B, C_in, H, W)) -> (B, C_out, H, W). Stride 1, no local Fourier unit (FAR's configuration).
    """

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        hidden = out_ch // 2
        self.conv1 = nn.Sequential(nn.Conv2d(in_ch, hidden, kernel_size=1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU())
        self.fu = FourierUnit(hidden, hidden)
        self.conv2 = nn.Conv2d(hidden, out_ch, kernel_size=1, bias=False)

    def forward(self, x: torch.Tensor, out_scale: torch.Tensor | None = None) -> torch.Tensor:
        """``out_scale`` (C_out,): multiplies the output channels, folded into ``conv2``'s weights (a BatchNorm's
        scale, see :meth:`FFC_BN_ACT.fused`)."""
        x = self.conv1(x)  # (B, C_out/2, H, W)
        if out_scale is None:
            return self.conv2(x + self.fu(x))
        return F.conv2d(x + self.fu(x), self.conv2.weight * out_scale.view(-1, 1, 1, 1))


class FFC(nn.Module):
    """Fast Fourier convolution on a (local, global) pair; four paths l2l, l2g, g2l (spatial kxk convs, no bias)
    and g2g (:class:`SpectralTransform`).

    forward((x_l: (B, C_in_l, H, W), x_g: (B, C_in_g, H, W))) -> (y_l: (B, C_out_l, H, W), y_g: (B, C_out_g, H, W)).
    A path with no input or output channels is absent (LaMa uses ``nn.Identity`` there).
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, ratio_gin: float, ratio_gout: float, padding: int = 0,
                 padding_mode: str = "reflect"):
        super().__init__()
        in_l, in_g = split_channels(in_ch, ratio_gin)
        out_l, out_g = split_channels(out_ch, ratio_gout)

        def spatial(cin: int, cout: int) -> nn.Module:
            if cin == 0 or cout == 0:
                return nn.Identity()
            return nn.Conv2d(cin, cout, kernel_size, padding=padding, bias=False, padding_mode=padding_mode)

        self.convl2l = spatial(in_l, out_l)
        self.convl2g = spatial(in_l, out_g)
        self.convg2l = spatial(in_g, out_l)
        self.convg2g = nn.Identity() if in_g == 0 or out_g == 0 else SpectralTransform(in_g, out_g)
        self.has_local, self.has_global = out_l > 0, out_g > 0

    def forward(self, x: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        x_l, x_g = x
        y_l = self.convl2l(x_l) + self.convg2l(x_g) if self.has_local else x_l[:, :0]
        y_g = self.convl2g(x_l) + self.convg2g(x_g) if self.has_global else x_g[:, :0]
        return y_l, y_g


class FFC_BN_ACT(nn.Module):  # noqa: N801  (LaMa's name, kept so its state-dict keys match)
    """:class:`FFC`, then BatchNorm and an activation on each of the local and global outputs.

    forward((x_l, x_g)) -> (act(bn_l(y_l)), act(bn_g(y_g))), shapes as :class:`FFC`.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, ratio_gin: float, ratio_gout: float, padding: int = 0,
                 activation: type[nn.Module] = nn.ReLU):
        super().__init__()
        self.ffc = FFC(in_ch, out_ch, kernel_size, ratio_gin, ratio_gout, padding)
        out_l, out_g = split_channels(out_ch, ratio_gout)
        self.bn_l = nn.BatchNorm2d(out_l) if out_l else nn.Identity()
        self.bn_g = nn.BatchNorm2d(out_g) if out_g else nn.Identity()
        self.act_l = activation() if out_l else nn.Identity()
        self.act_g = activation() if out_g else nn.Identity()

    def forward(self, x: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        y_l, y_g = self.ffc(x)
        return self.act_l(self.bn_l(y_l)), self.act_g(self.bn_g(y_g))

    def fusable(self) -> bool:
        """True when :meth:`fused` applies: both parts in and out, spatial convs with reflect padding, eval mode."""
        ffc = self.ffc
        convs = (ffc.convl2l, ffc.convl2g, ffc.convg2l)
        return (not self.training and all(isinstance(c, nn.Conv2d) and c.padding_mode == "reflect" and c.stride == (1, 1)
                                          and c.bias is None for c in convs)
                and isinstance(ffc.convg2g, SpectralTransform) and isinstance(self.bn_l, nn.BatchNorm2d)
                and isinstance(self.bn_g, nn.BatchNorm2d))

    def fused(self, x: torch.Tensor) -> torch.Tensor:
        """The same layer on ONE tensor, as exported graphs compute it (eval mode, :meth:`fusable`).

        x: (B, C_in, H, W), the first ``C_in_l`` channels local -> (B, C_out, H, W) = cat(act(bn_l(y_l)), act(bn_g(y_g))).
        ``y_l = l2l(x_l) + g2l(x_g)`` is ONE convolution of the padded x with the two kernels side by side, and both
        BatchNorms are folded into the convolutions before them (``y_g``'s into l2g and the spectral transform's
        last 1x1 conv), so ONNX Runtime runs conv + activation (and conv + sum + activation) as single nodes; the
        input is padded once for both local convolutions. Same sums in another order (float rounding apart).
        """
        ffc = self.ffc
        in_l = ffc.convl2l.in_channels
        xp = F.pad(x, (ffc.convl2l.padding[0],) * 4, mode="reflect")  # (B, C_in, H+2p, W+2p)
        scale_l, shift_l = batchnorm_affine(self.bn_l)
        local = torch.cat([ffc.convl2l.weight, ffc.convg2l.weight], dim=1) * scale_l.view(-1, 1, 1, 1)
        y_l = self.act_l(F.conv2d(xp, local, shift_l))  # (B, C_out_l, H, W)
        scale_g, shift_g = batchnorm_affine(self.bn_g)
        y_g = F.conv2d(xp[:, :in_l], ffc.convl2g.weight * scale_g.view(-1, 1, 1, 1), shift_g)
        y_g = self.act_g(y_g + ffc.convg2g(x[:, in_l:], out_scale=scale_g))  # (B, C_out_g, H, W)
        return torch.cat([y_l, y_g], dim=1)


def batchnorm_affine(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode BatchNorm as ``scale * y + shift`` per channel: (C,), (C,)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


class FFCResnetBlock(nn.Module):
    """Residual block of two 3x3 :class:`FFC_BN_ACT` (ReLU) on one tensor split (local, global) along channels.

    forward(x: (B, C, H, W)) -> (B, C, H, W) = x + cat(ffc2(ffc1(split(x)))), the first C - int(C * ratio)
    channels local, the rest global.
    """

    def __init__(self, channels: int, ratio_global: float = GLOBAL_RATIO):
        super().__init__()
        self.split = split_channels(channels, ratio_global)
        self.ffc1 = FFC_BN_ACT(channels, channels, 3, ratio_global, ratio_global, padding=1)
        self.ffc2 = FFC_BN_ACT(channels, channels, 3, ratio_global, ratio_global, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if exporting() and self.ffc1.fusable() and self.ffc2.fusable():  # one tensor throughout (FFC_BN_ACT.fused)
            return x + self.ffc2.fused(self.ffc1.fused(x))
        x_l, x_g = torch.split(x, list(self.split), dim=1)  # (B, C_l, H, W), (B, C_g, H, W)
        y_l, y_g = self.ffc2(self.ffc1((x_l, x_g)))
        return x + torch.cat([y_l, y_g], dim=1)
