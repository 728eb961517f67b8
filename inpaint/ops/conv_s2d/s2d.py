"""A stride-1 valid convolution as a convolution of the block x block space-to-depth of its input (exact).

With ``y[o, i, j] = sum_{c, u, v} w[o, c, u, v] x[c, i + u, j + v]`` (no padding, stride 1) and ``i = b*a + p``
(output phase ``p`` of ``b``), the input row ``i + u = b*(a + m) + q`` with ``m = (p + u) // b`` and
``q = (p + u) % b``. So phase ``p`` of the output is a correlation over the input's phases ``q`` at block offsets
``m = 0 .. ceil((k + b - 1) / b) - 1`` with the kernel ``K[(o, p), (c, q), m] = w[o, c, b*m + q - p]`` (zero where
that tap is outside ``0 .. k-1``), in both dimensions. Channels: (q_y, q_x, c) in, as ONNX ``SpaceToDepth``
orders them (its only mode, "DCR"; ONNX Runtime runs it as one copy, where the exporter's form of
``F.pixel_unshuffle``, a 6-D Transpose, took 56 ms at 512 x 512 x 64), and (o, p_y, p_x) out, as
``F.pixel_shuffle`` (exported as ``DepthToSpace``, mode "CRD") orders them.
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
    kernel = s2d_kernel(weight, b)  # (O*b*b, C*b*b, m, m)
    bias4 = None if bias is None else bias.repeat_interleave(b * b)
    y = F.conv2d(space_to_depth(x, b), kernel, bias4)  # (N, O*b*b, hp/b - m + 1, wp/b - m + 1)
    y = F.pixel_shuffle(y, b)  # (N, O, H', W'), H' = H when (k - 1) is a multiple of b
    return y if (k - 1) % b == 0 else y[:, :, :h, :w]
