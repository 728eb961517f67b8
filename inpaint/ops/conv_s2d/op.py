"""The dispatcher for convolutions with few output channels: ``F.conv2d`` in eager mode, the space-to-depth form
of :mod:`inpaint.ops.conv_s2d.s2d` while exporting (both variants)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from inpaint.ops.conv_s2d.s2d import conv2d_of_s2d, conv2d_s2d, reflect_pad_s2d_from_phases
from inpaint.ops.conv_transpose.phases import interleave_phases
from inpaint.ops.mode import exporting


def conv2d_few_outputs(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``F.conv2d(x, weight, bias)`` (stride 1, no padding); exported through a 2x2 space-to-depth (package
    docstring). x: (N, C, H + k - 1, W + k - 1), H and W even, with k - 1 even -> (N, O, H, W)."""
    if not exporting():
        return F.conv2d(x, weight, bias)
    return conv2d_s2d(x, weight, bias, 2)


def conv2d_few_outputs_of_phases(rows: list[list[torch.Tensor]], pad: int, weight: torch.Tensor,
                                 bias: torch.Tensor | None) -> torch.Tensor:
    """``F.conv2d(F.pad(interleave_phases(rows), (pad,) * 4, mode="reflect"), weight, bias)`` for the four 2x2
    phases ``rows[b_y][b_x]`` (N, C, h, w) of a x2 upsampling -> (N, O, 2h + 2pad - k + 1, 2w + 2pad - k + 1)
    (2h x 2w for FAR's head: k = 7, pad 3).

    Exported: the space-to-depth form built from the phases
    (:func:`~inpaint.ops.conv_s2d.s2d.reflect_pad_s2d_from_phases`); otherwise the interleave, the pad and ``F.conv2d``. Profiled alone (ONNX Runtime, 2 threads, FAR's last up conv
    and head at 512 x 512): 125 -> 105 ms against interleave + Pad + SpaceToDepth, outputs identical.
    """
    if not exporting():
        return F.conv2d(F.pad(interleave_phases(rows), (pad,) * 4, mode="reflect"), weight, bias)
    h, w = rows[0][0].shape[-2:]
    grow = 2 * pad - weight.shape[-1] + 1  # valid output = padded size - k + 1
    return conv2d_of_s2d(reflect_pad_s2d_from_phases(rows, pad), weight, bias, 2, 2 * h + grow, 2 * w + grow)
