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


def conv_transpose2d_phases(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, padding: int,
                            output_padding: int = 0) -> torch.Tensor:
    """``F.conv_transpose2d(x, weight, bias, stride, padding, output_padding)`` (groups 1, dilation 1, square kernel,
    same stride and padding on both axes) as ``stride**2`` convolutions.

    Args:
        x: (N, C_in, h, w) float.
        weight: (C_in, C_out, k, k) the transposed conv's kernel; bias: (C_out,) or None.
    Returns:
        (N, C_out, s*h, s*w).
    Raises:
        ValueError: the geometry does not give an output of exactly ``s`` times the input.
    """
    k, s, p = weight.shape[-1], stride, padding
    if weight.shape[-2] != k or k + output_padding - 2 * p != s:
        raise ValueError(f"phase form needs a square kernel with k + output_padding - 2p == stride (k={k}, s={s}, p={p}, op={output_padding})")
    taps = phase_taps(k, s, p)
    lo = min(d for d, _ in taps)
    hi = max(d + len(t) - 1 for d, t in taps)
    pad_lo, pad_hi = max(0, -lo), max(0, hi)
    xp = F.pad(x, (pad_lo, pad_hi, pad_lo, pad_hi))  # (N, C_in, h + pad_lo + pad_hi, ...)

    def window(d: int, n_taps: int):  # rows/cols of xp that phase (d, n_taps) reads: start, end (negative, or None)
        start = pad_lo + d
        end = pad_hi - (d + n_taps - 1)  # how many trailing padded rows it does not read
        return slice(start, -end if end > 0 else None)

    rows = []
    for dy, ty in taps:
        cols = []
        for dx, tx in taps:
            kernel = weight[:, :, ty][:, :, :, tx].transpose(0, 1)  # (C_out, C_in, len(ty), len(tx))
            cols.append(F.conv2d(xp[:, :, window(dy, len(ty)), window(dx, len(tx))], kernel, bias))  # (N, C_out, h, w)
        rows.append(torch.stack(cols, -1))  # (N, C_out, h, w, s): phase b_x last
    y = torch.stack(rows, 3)  # (N, C_out, h, s, w, s)
    n, c, h, _, w, _ = y.shape
    return y.reshape(n, c, h * s, w * s)
