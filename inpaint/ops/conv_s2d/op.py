"""The dispatcher for convolutions with few output channels: ``F.conv2d`` in eager mode, the space-to-depth form
of :mod:`inpaint.ops.conv_s2d.s2d` while exporting (both variants)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from inpaint.ops.conv_s2d.s2d import conv2d_s2d
from inpaint.ops.mode import exporting


def conv2d_few_outputs(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``F.conv2d(x, weight, bias)`` (stride 1, no padding); exported through a 2x2 space-to-depth (package
    docstring). x: (N, C, H + k - 1, W + k - 1), H and W even, with k - 1 even -> (N, O, H, W)."""
    if not exporting():
        return F.conv2d(x, weight, bias)
    return conv2d_s2d(x, weight, bias, 2)
