"""The dispatcher the models call for their transposed convolutions: ``F.conv_transpose2d`` in eager mode (training),
the phase form of :mod:`inpaint.ops.conv_transpose.phases` while exporting (both variants)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from inpaint.ops.conv_transpose.phases import conv_transpose2d_phases
from inpaint.ops.mode import exporting


def conv_transpose2d(x: torch.Tensor, module: nn.ConvTranspose2d,
                     pointwise: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """``pointwise(module(x))`` for an ``nn.ConvTranspose2d`` (groups 1, dilation 1, square, equal strides and
    paddings); in exported graphs as ordinary convolutions with ``pointwise`` applied to each output phase before
    the interleave (package docstring; ``pointwise`` must treat every pixel on its own, see
    :func:`~inpaint.ops.conv_transpose.phases.conv_transpose2d_phases`).
    x: (N, C_in, h, w) -> (N, C', s*h, s*w)."""
    s, p, op = module.stride[0], module.padding[0], module.output_padding[0]
    phased = (
        exporting()
        and module.groups == 1
        and module.dilation == (1, 1)
        and module.stride == (s, s)
        and module.padding == (p, p)
        and module.output_padding == (op, op)
        and module.kernel_size[0] == module.kernel_size[1]
        and module.kernel_size[0] + op - 2 * p == s
    )
    if not phased:
        return module(x) if pointwise is None else pointwise(module(x))
    return conv_transpose2d_phases(x, module.weight, module.bias, s, p, op, pointwise)
