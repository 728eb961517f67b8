"""A stride-s transposed convolution as s*s ordinary convolutions, one per output phase (exact).

In one dimension, ``ConvTranspose(k, stride s, padding p)`` writes ``y[o] = sum_{i, t: o = s*i - p + t} x[i] w[t]``.
For the output phase ``b = o mod s`` (``o = s*a + b``) the taps that reach it are ``t = r + s*m`` with
``r = (b + p) mod s``, reading ``x[a + c - m]`` with ``c = (b + p) // s``: an ordinary correlation of ``x`` over the
input offsets ``d = c - m`` (``d_lo .. d_hi``) with the kernel ``K_b[j] = w[r + s*(c - d_lo - j)]``. In two
dimensions the phases are the pairs (b_y, b_x); their outputs are interleaved back into the (s*h, s*w) grid.

Same multiply-adds as the transposed convolution (none on zero taps). Exact when the output is exactly ``s`` times
the input (``k + output_padding - 2p == s``: MADF's k4 s2 p1 and the ACR's k3 s2 p1 op1), which
:func:`conv_transpose2d_phases` checks.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F


def phase_taps(k: int, s: int, p: int) -> list[tuple[int, list[int]]]:
    """Per output phase b = 0 .. s-1: (d_lo, taps), the first input offset and the kernel taps ``t`` (index into
    the transposed conv's kernel) of the phase's correlation, in correlation order."""
    out = []
    for b in range(s):
        r, c = (b + p) % s, (b + p) // s
        m_max = (k - 1 - r) // s
        d_lo = c - m_max
        out.append((d_lo, [r + s * (c - d) for d in range(d_lo, c + 1)]))
    return out


def phase_convolutions(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, padding: int,
                       output_padding: int = 0) -> list[list[torch.Tensor]]:
    """The ``stride**2`` output phases of ``F.conv_transpose2d(x, weight, bias, stride, padding, output_padding)``,
    each an ordinary convolution of ``x`` (module docstring), not yet interleaved.

    Every phase reads ``x`` itself: its input offsets ``d_lo .. d_hi`` become the convolution's own zero padding
    (``-d_lo`` before, ``d_hi`` after, a ``Pad`` that ONNX Runtime fuses into the ``Conv``), so no phase copies a
    shifted window of a padded input.

    Args:
        x: (N, C_in, h, w) float.
        weight: (C_in, C_out, k, k) the transposed conv's kernel; bias: (C_out,) or None.
    Returns:
        rows[b_y][b_x]: (N, C_out, h, w), the output pixels (s*a + b_y, s*c + b_x).
    Raises:
        ValueError: the geometry does not give an output of exactly ``s`` times the input.
    """
    k, s, p = weight.shape[-1], stride, padding
    if weight.shape[-2] != k or k + output_padding - 2 * p != s:
        raise ValueError(f"phase form needs a square kernel with k + output_padding - 2p == stride (k={k}, s={s}, p={p}, op={output_padding})")
    taps = phase_taps(k, s, p)
    rows = []
    for dy, ty in taps:
        cols = []
        for dx, tx in taps:
            kernel = weight[:, :, ty][:, :, :, tx].transpose(0, 1)  # (C_out, C_in, len(ty), len(tx))
            pads = (-dx, dx + len(tx) - 1, -dy, dy + len(ty) - 1)  # left, right, top, bottom (negative: crop)
            xp = F.pad(x, pads) if any(pads) else x
            cols.append(F.conv2d(xp, kernel, bias))  # (N, C_out, h, w)
        rows.append(cols)
    return rows


def interleave_phases(rows: list[list[torch.Tensor]]) -> torch.Tensor:
    """rows[b_y][b_x] (N, C, h, w) each, s x s of them -> (N, C, s*h, s*w) with pixel (s*a + b_y, s*c + b_x) from
    phase (b_y, b_x)."""
    s = len(rows)
    y = torch.stack([torch.stack(cols, -1) for cols in rows], 3)  # (N, C, h, s, w, s): b_y before w, b_x last
    n, c, h, _, w, _ = y.shape
    return y.reshape(n, c, h * s, w * s)


def conv_transpose2d_phases(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, padding: int,
                            output_padding: int = 0, pointwise: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """``pointwise(F.conv_transpose2d(x, weight, bias, stride, padding, output_padding))`` (groups 1, dilation 1,
    square kernel, same stride and padding on both axes) as ``stride**2`` convolutions (:func:`phase_convolutions`),
    ``pointwise`` applied to each phase before they are interleaved.

    ``pointwise`` must treat every pixel on its own (activations, gating between channel groups, BatchNorm in eval
    mode, scaling): then applying it per phase equals applying it to the whole output, and the large intermediates
    of the layer stay at the phases' size (FAR's gated deconvs at full resolution: README "FAR on the CPU").

    Args:
        x: (N, C_in, h, w) float.
        weight: (C_in, C_out, k, k) the transposed conv's kernel; bias: (C_out,) or None.
        pointwise: (N, C_out, h, w) -> (N, C', h, w); None = identity.
    Returns:
        (N, C', s*h, s*w).
    Raises:
        ValueError: the geometry does not give an output of exactly ``s`` times the input.
    """
    rows = phase_convolutions(x, weight, bias, stride, padding, output_padding)
    if pointwise is not None:
        rows = [[pointwise(phase) for phase in cols] for cols in rows]
    return interleave_phases(rows)
