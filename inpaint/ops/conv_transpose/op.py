"""The dispatcher the models call for their transposed convolutions: ``F.conv_transpose2d`` in eager mode (training),
the phase form of :mod:`inpaint.ops.conv_transpose.phases` while exporting (both variants)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from inpaint.ops.conv_transpose.phases import conv_transpose2d_phases, phase_convolutions
from inpaint.ops.mode import exporting


def phase_form_applies(module: nn.ConvTranspose2d) -> bool:
    """True when ``module`` (groups 1, dilation 1, square, equal strides and paddings) gives an output of exactly
    ``stride`` times its input, so its phase form is exact (:mod:`inpaint.ops.conv_transpose.phases`)."""
    s, p, op = module.stride[0], module.padding[0], module.output_padding[0]
    return (
        module.groups == 1
        and module.dilation == (1, 1)
        and module.stride == (s, s)
        and module.padding == (p, p)
        and module.output_padding == (op, op)
        and module.kernel_size[0] == module.kernel_size[1]
        and module.kernel_size[0] + op - 2 * p == s
    )


def conv_transpose2d(x: torch.Tensor, module: nn.ConvTranspose2d,
                     pointwise: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """``pointwise(module(x))`` for an ``nn.ConvTranspose2d`` (groups 1, dilation 1, square, equal strides and
    paddings); in exported graphs as ordinary convolutions with ``pointwise`` applied to each output phase before
    the interleave (package docstring; ``pointwise`` must treat every pixel on its own, see
    :func:`~inpaint.ops.conv_transpose.phases.conv_transpose2d_phases`).
    x: (N, C_in, h, w) -> (N, C', s*h, s*w)."""
    if not (exporting() and phase_form_applies(module)):
        return module(x) if pointwise is None else pointwise(module(x))
    s, p, op = module.stride[0], module.padding[0], module.output_padding[0]
    return conv_transpose2d_phases(x, module.weight, module.bias, s, p, op, pointwise)


def conv_transpose2d_phase_outputs(x: torch.Tensor, module: nn.ConvTranspose2d,
                                   pointwise: Callable[[torch.Tensor], torch.Tensor] | None = None) -> list[list[torch.Tensor]]:
    """The output phases of :func:`conv_transpose2d`, not interleaved, for a consumer that takes phases (FAR's head:
    :func:`~inpaint.ops.conv_s2d.conv2d_few_outputs_of_phases`): rows[b_y][b_x] (N, C', h, w), pixel
    (s*i + b_y, s*j + b_x) of ``pointwise(module(x))``.

    Raises:
        ValueError: ``module`` has no exact phase form (:func:`phase_form_applies`).
    """
    if not phase_form_applies(module):
        raise ValueError(f"no exact phase form for {module}")
    s, p, op = module.stride[0], module.padding[0], module.output_padding[0]
    rows = phase_convolutions(x, module.weight, module.bias, s, p, op)
    return rows if pointwise is None else [[pointwise(phase) for phase in cols] for cols in rows]
