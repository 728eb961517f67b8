"""Factorised form of the mask-aware dynamic convolution (DESIGN.md, "exact identity"), in bounded chunks.

Because the kernel generator is linear, ``K_l = sum_j m_j[l] W_j + B``, so

    y = sum_j m_j * conv(e, W_j) + conv(e, B)

with ``W_j[co, ci, ky, kx] = weight[((ci*k + ky)*k + kx)*C_out + co, j]``. Ordinary convolutions and a per-pixel
contraction with ``[m, 1]`` replace unfold and the per-window matmul: the same multiply-adds.

Memory budget. Done in one piece, the convolution has ``(C_m + 1) * C_out`` output channels at the output
resolution (272 channels of 256 x 256 = 71 MB at MADF's first level for a 512 x 512 image, and as much again
for the product with ``m``). Here the ``C_m + 1`` generator groups (``W_0 .. W_{C_m-1}``, then ``B``) are taken
``max(1, max_channels // C_out)`` at a time and summed into ``y``: no intermediate holds more than
``max(max_channels, C_out)`` channels at the output resolution, i.e. never more than :data:`CHUNK_CHANNELS`
channels or the level's own output width, whatever the image size (16 MB at MADF's first level at 512 x 512).
The sum over chunks is exact up to float rounding (the terms are summed in another order), and the chunk count
is fixed by the shapes of the weights, so a traced graph (ONNX, dynamic H/W) holds the same chunks as eager mode.
Autograd runs through it unchanged (training saves each chunk's conv output for the backward pass).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: the budget, in channels at the output resolution, of every intermediate (chosen by measurement: README,
#: "MADF on the CPU"; 64 keeps MADF's first level at 1/4 of its one-piece size and costs no speed)
CHUNK_CHANNELS = 64


def factorize_generator(weight: torch.Tensor, bias: torch.Tensor | None, in_channels: int, kernel_size: int) -> torch.Tensor:
    """Turn the 1x1 generator into an ordinary conv kernel.

    Args:
        weight: (C_in*k*k*C_out, C_m, 1, 1) generator weight.
        bias: (C_in*k*k*C_out,) generator bias, or None (treated as zero).
    Returns:
        ((C_m + 1) * C_out, C_in, k, k): block j < C_m is ``W_j``, the last block is the bias kernel ``B``.
    """
    k = kernel_size
    g, c_m = weight.shape[:2]
    c_out = g // (in_channels * k * k)
    w = weight.reshape(in_channels, k, k, c_out, c_m).permute(4, 3, 0, 1, 2)  # (C_m, C_out, C_in, k, k)
    if bias is None:
        b = w.new_zeros(1, c_out, in_channels, k, k)
    else:
        b = bias.reshape(in_channels, k, k, c_out).permute(3, 0, 1, 2).unsqueeze(0)  # (1, C_out, C_in, k, k)
    return torch.cat([w, b], 0).reshape((c_m + 1) * c_out, in_channels, k, k)


def group_chunks(groups: int, c_out: int, max_channels: int = CHUNK_CHANNELS) -> list[tuple[int, int]]:
    """[(j0, j1), ...]: consecutive generator groups, ``max(1, max_channels // c_out)`` at a time, covering 0..groups."""
    step = max(1, max_channels // c_out)
    return [(j, min(j + step, groups)) for j in range(0, groups, step)]


def dynamic_conv(
    e: torch.Tensor,
    m: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    kernel_size: int,
    stride: int,
    pad: int,
    max_channels: int = CHUNK_CHANNELS,
) -> torch.Tensor:
    """Mask-aware dynamic convolution, factorised, in chunks of generator groups. Same contract as
    :func:`~inpaint.ops.dynamic_conv.reference.dynamic_conv_windows`.

    Args:
        e: (N, C_in, H, W) image features.
        m: (N, C_m, H_out, W_out) mask features at the output resolution.
        weight: (C_in*k*k*C_out, C_m, 1, 1) generator weight.
        bias: (C_in*k*k*C_out,) generator bias or None.
        max_channels: the intermediate budget (module docstring); the result does not depend on it.
    Returns:
        (N, C_out, H_out, W_out), no activation.
    """
    n, c_m, h_out, w_out = m.shape
    kernel = factorize_generator(weight, bias, e.shape[1], kernel_size)
    c_out = kernel.shape[0] // (c_m + 1)
    coeff = torch.cat([m, torch.ones_like(m[:, :1])], 1)  # (N, C_m + 1, H_out, W_out): [m, 1]
    y = None
    for j0, j1 in group_chunks(c_m + 1, c_out, max_channels):
        z = F.conv2d(e, kernel[j0 * c_out : j1 * c_out], stride=stride, padding=pad)  # (N, (j1-j0)*C_out, H_out, W_out)
        if z.shape[-2:] != (h_out, w_out):
            raise ValueError(f"mask features are {(h_out, w_out)}, expected {tuple(z.shape[-2:])}")
        if j1 - j0 == 1:
            part = z * coeff[:, j0 : j0 + 1]
        else:
            part = (z.reshape(n, j1 - j0, c_out, h_out, w_out) * coeff[:, j0:j1].unsqueeze(2)).sum(1)  # contraction
        y = part if y is None else y + part
    return y
