"""Per-window reference form of the mask-aware dynamic convolution (the paper's Eq. 1-2).

For every output position l the generator produces a kernel ``K_l = W m_l + b`` of shape
(C_in*k*k, C_out), and ``y[:, :, l] = unfold(e)[:, :, l]^T K_l``. This holds ``C_in*k*k*C_out``
floats per output pixel (719 M floats for MADF at 512x512), which is why the models use the
factorised form; this one is the ground truth the tests compare against.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def dynamic_conv_windows(
    e: torch.Tensor, m: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, kernel_size: int, stride: int, pad: int
) -> torch.Tensor:
    """Dynamic convolution with one generated kernel per window.

    Args:
        e: (N, C_in, H, W) image features.
        m: (N, C_m, H_out, W_out) mask features at the output resolution.
        weight: (C_in*k*k*C_out, C_m, 1, 1) generator weight; layout in ``contract.py``.
        bias: (C_in*k*k*C_out,) generator bias or None.
    Returns:
        (N, C_out, H_out, W_out), no activation.
    """
    n, c_in, h, w = e.shape
    k = kernel_size
    h_out, w_out = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    if m.shape[-2:] != (h_out, w_out):
        raise ValueError(f"mask features are {tuple(m.shape[-2:])}, expected {(h_out, w_out)}")
    c_out = weight.shape[0] // (c_in * k * k)
    filters = F.conv2d(m, weight, bias)  # (N, C_in*k*k*C_out, H_out, W_out)
    filters = filters.flatten(2).transpose(1, 2).reshape(n, h_out * w_out, c_in * k * k, c_out)
    windows = F.unfold(e, k, padding=pad, stride=stride)  # (N, C_in*k*k, L)
    windows = windows.transpose(1, 2).unsqueeze(2)  # (N, L, 1, C_in*k*k)
    y = windows.matmul(filters).squeeze(2)  # (N, L, C_out)
    return y.transpose(1, 2).reshape(n, c_out, h_out, w_out)
