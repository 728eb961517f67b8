"""A stride-1 valid convolution as a convolution of the block x block space-to-depth of its input (exact).

With ``y[o, i, j] = sum_{c, u, v} w[o, c, u, v] x[c, i + u, j + v]`` (no padding, stride 1) and ``i = b*a + p``
(output phase ``p`` of ``b``), the input row ``i + u = b*(a + m) + q`` with ``m = (p + u) // b`` and
``q = (p + u) % b``. So phase ``p`` of the output is a correlation over the input's phases ``q`` at block offsets
``m = 0 .. ceil((k + b - 1) / b) - 1`` with the kernel ``K[(o, p), (c, q), m] = w[o, c, b*m + q - p]`` (zero where
that tap is outside ``0 .. k-1``), in both dimensions. Channels: (q_y, q_x, c) in, as ONNX ``SpaceToDepth``
orders them (its only mode, "DCR"; ONNX Runtime runs it as one copy, where the exporter's form of
``F.pixel_unshuffle``, a 6-D Transpose, took 56 ms at 512 x 512 x 64), and (o, p_y, p_x) out, as
``F.pixel_shuffle`` (exported as ``DepthToSpace``, mode "CRD") orders them.

When the padded input is a reflect-padded x2 upsampling given as its four phases (the ACR's last transposed conv
before its 7x7 head), :func:`reflect_pad_s2d_from_phases` builds the space-to-depth from the phases: no
interleave, no padded image, no SpaceToDepth node.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from inpaint.ops.mode import exporting


def s2d_kernel(weight: torch.Tensor, block: int = 2) -> torch.Tensor:
    """(O, C, k, k) stride-1 kernel -> (O*b*b, b*b*C, m, m) kernel of the space-to-depth form, m = (k + b - 2)//b + 1."""
    o, c, k, k2 = weight.shape
    if k != k2:
        raise ValueError(f"square kernels only, got {k}x{k2}")
    b = block
    m = (k + b - 2) // b + 1
    p = torch.arange(b, device=weight.device)[:, None, None]
    q = torch.arange(b, device=weight.device)[None, :, None]
    mm = torch.arange(m, device=weight.device)[None, None, :]
    tap = b * mm + q - p  # (b, b, m): the original tap phase p reads from input phase q at block offset m
    valid = ((tap >= 0) & (tap < k)).to(weight.dtype)
    tap = tap.clamp(0, k - 1)
    taken = weight[:, :, tap][..., tap]  # (O, C, p_y, q_y, m_y, p_x, q_x, m_x)
    taken = taken * valid[:, :, :, None, None, None] * valid  # zero where the tap does not exist
    return taken.permute(0, 2, 5, 3, 6, 1, 4, 7).reshape(o * b * b, b * b * c, m, m)  # (o, p_y, p_x), (q_y, q_x, c)


def space_to_depth(x: torch.Tensor, block: int) -> torch.Tensor:
    """ONNX ``SpaceToDepth``: (N, C, H, W) -> (N, b*b*C, H/b, W/b), channel ``(q_y*b + q_x)*C + c`` = pixel
    ``(b*i + q_y, b*j + q_x)`` of channel c. One ``SpaceToDepth`` node while ``torch.onnx.export`` traces (the
    eager reshape otherwise, also inside :func:`~inpaint.ops.mode.export_mode`, so the export-time forms can be
    checked eagerly)."""
    n, c, h, w = x.shape
    if exporting() and torch.onnx.is_in_onnx_export():
        return torch.onnx.ops.symbolic("SpaceToDepth", (x,), {"blocksize": block}, dtype=x.dtype,
                                       shape=(n, block * block * c, h // block, w // block), version=1)
    return x.reshape(n, c, h // block, block, w // block, block).permute(0, 3, 5, 1, 2, 4).reshape(n, block * block * c, h // block, w // block)


def conv2d_s2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, block: int = 2) -> torch.Tensor:
    """``F.conv2d(x, weight, bias)`` (stride 1, no padding, groups 1, square kernel) through a space-to-depth.

    Args:
        x: (N, C, H + k - 1, W + k - 1) float, already padded as the layer wants; H, W and the padded sizes
            multiples of ``block``.
        weight: (O, C, k, k); bias: (O,) or None.
    Returns:
        (N, O, H, W), equal to ``F.conv2d(x, weight, bias)`` up to float rounding (same products, summed in
        another order).
    Raises:
        ValueError: the sizes are not multiples of ``block``.
    """
    k, b = weight.shape[-1], block
    hp, wp = x.shape[-2:]
    h, w = hp - k + 1, wp - k + 1
    if hp % b or wp % b or h % b or w % b:
        raise ValueError(f"space-to-depth conv needs sizes that are multiples of {b}: input {hp}x{wp}, output {h}x{w}")
    return conv2d_of_s2d(space_to_depth(x, b), weight, bias, b, h, w)


def conv2d_of_s2d(s: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, block: int, h: int,
                  w: int) -> torch.Tensor:
    """The convolution of :func:`conv2d_s2d` applied to ``s``, the space-to-depth of its padded input (N, b*b*C,
    Hp/b, Wp/b), channels (q_y, q_x, c) -> (N, O, h, w), the valid output size h x w."""
    k, b = weight.shape[-1], block
    kernel = s2d_kernel(weight, b)  # (O*b*b, C*b*b, m, m)
    bias4 = None if bias is None else bias.repeat_interleave(b * b)
    y = F.conv2d(s, kernel, bias4)  # (N, O*b*b, Hp/b - m + 1, Wp/b - m + 1)
    y = F.pixel_shuffle(y, b)  # (N, O, H', W'), H' = h when (k - 1) is a multiple of b
    return y if (k - 1) % b == 0 else y[:, :, :h, :w]


def _reflected_phase_axis(t: torch.Tensor, axis: int, q: int, pad: int) -> torch.Tensor:
    """Sub-row (or sub-column) ``q`` of the 2x2 space-to-depth of an interleave reflect-padded by ``pad``, along
    ``axis`` of the phase ``t`` it comes from (phase ``(pad - q) % 2``; module-level derivation in
    :func:`reflect_pad_s2d_from_phases`): n + pad entries, ``n = t.shape[axis]``."""
    a = (pad - q) % 2
    c = (pad - q - a) // 2  # phase index of the first block's (reflected) sample
    top = (pad - q + 1) // 2  # blocks before the interleave's first sample of this phase
    n = t.shape[axis]
    parts = [t.narrow(axis, c - i, 1) for i in range(top)]  # reflected: c, c-1, .. (descending)
    parts.append(t)
    parts += [t.narrow(axis, n - 1 - top + c - i, 1) for i in range(pad - top)]  # reflected at the far end
    return torch.cat(parts, axis) if len(parts) > 1 else t


def reflect_pad_s2d_from_phases(rows: list[list[torch.Tensor]], pad: int) -> torch.Tensor:
    """``space_to_depth(F.pad(interleave(rows), (pad,) * 4, mode="reflect"), 2)`` from the four 2x2 phases
    directly, without the interleave, the padded image or the space-to-depth (exact: the same values, copied once).

    rows[b_y][b_x] (N, C, h, w) is output pixel (2i + b_y, 2j + b_x) of a x2 upsampling (a transposed conv's
    phases, :func:`~inpaint.ops.conv_transpose.phase_convolutions`). Along one axis, block I of the padded image's
    space-to-depth, sub-row q, is pixel r = 2I + q - pad of the interleave, reflected into 0 .. 2h - 1. Reflection
    keeps the parity of r, so every block of sub-row q comes from one phase, a = (pad - q) mod 2: from its row
    I - (pad - q + a)/2 inside, and from its rows near the edges in reflected order outside (e.g. pad 3, sub-row 0:
    phase rows 1, 0, 0, 1, .., h-1, h-2). So the result is four phases, each with a few edge rows and columns
    copied around it, concatenated in SpaceToDepth's channel order (q_y, q_x, c).

    Args:
        rows: 2 x 2 nested list of (N, C, h, w) float tensors.
        pad: reflect padding of the full-resolution image, 1 <= pad < 2h and 2w (as ``F.pad`` requires).
    Returns:
        (N, 4C, h + pad, w + pad).
    """
    groups = []
    for qy in range(2):
        for qx in range(2):
            t = rows[(pad - qy) % 2][(pad - qx) % 2]
            groups.append(_reflected_phase_axis(_reflected_phase_axis(t, 2, qy, pad), 3, qx, pad))
    return torch.cat(groups, 1)
