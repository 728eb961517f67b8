"""Export-friendly exact form of the masked attention aggregation: no unfold, no data-dependent weights.

A (2 r_h) x (2 r_w) patch at stride r is 2 x 2 blocks of r_h x r_w. Cut the edge-padded features into a
(g+1) x (g+1) grid of such blocks ``B``; token k = (i, j) owns blocks (i+dy, j+dx), dy, dx in {0, 1}. Then

    Y_q[dy, dx] = sum_k scores[q, k] * B[k + (dy, dx)]          (four shifted batched matmuls)

and query q's block (dy, dx) lands on canvas block q + (dy, dx): an overlap-add of the four block grids
with slices and concatenations. Cropping ``p`` on each side, repeating the last row (column) for odd r, and
dividing by 4 (folded into the scores; a power of two, so exact) gives the authors' transposed-convolution
result (``reference.py``) to rounding. Every size is computed from the input shapes without branching on
the rate, so one graph serves any H, W (ONNX Pad, Reshape, Transpose, Slice, Concat, MatMul).
Multiply-adds are the reference's, ``N * L * L * 4 * C * r_h * r_w``; the blocks and products hold about
4x the feature map.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from inpaint.ops.attention_aggregate.contract import OVERLAP_DIVISOR, grid_side, patch_padding, resolve_rate


def masked_attention_aggregate_matmul(x: torch.Tensor, scores: torch.Tensor, rate: int | tuple[int, int] | None = None) -> torch.Tensor:
    """Same contract as :func:`~inpaint.ops.attention_aggregate.reference.masked_attention_aggregate_reference`.

    Args:
        x: (N, C, H, W) float features, H = g * r_h, W = g * r_w (FAR: g = 16).
        scores: (N, L, L) float, L = g * g; row = query token, column = key token.
        rate: (r_h, r_w), an int, or None to derive it from the shapes (pass None inside models, so that a
            dynamic-shape export does not pin H and W).
    Returns:
        (N, C, H, W), same dtype as ``x``.
    """
    n, c, h, w = x.shape
    g = grid_side(scores.shape[-1])
    rh, rw = resolve_rate(h, w, scores.shape[-1], rate)
    ph, pw = patch_padding(rh), patch_padding(rw)

    # rows [-p, g*r + r - p) of x, edge-replicated: exactly the (g+1)*r rows the g patches read
    padded = F.pad(x, (pw, rw - pw, ph, rh - ph), mode="replicate")  # (N, C, (g+1)rh, (g+1)rw)
    blocks = padded.reshape(n, c, g + 1, rh, g + 1, rw).permute(0, 1, 3, 5, 2, 4)  # (N, C, rh, rw, g+1, g+1)
    weights = (scores.to(x.dtype) / OVERLAP_DIVISOR).transpose(1, 2)  # (N, L key, L query)
    pasted = [
        torch.bmm(blocks[..., dy : dy + g, dx : dx + g].reshape(n, c * rh * rw, g * g), weights).reshape(n, c, rh, rw, g, g)
        for dy in (0, 1)
        for dx in (0, 1)
    ]  # block (dy, dx) of every query's patch, on the query grid: (N, C, rh, rw, g, g) each

    # overlap-add: block (dy, dx) of query (i, j) goes to canvas block (i+dy, j+dx)
    top, bottom = _overlap_add(pasted[0], pasted[1], 5), _overlap_add(pasted[2], pasted[3], 5)  # (N, C, rh, rw, g, g+1)
    canvas = _overlap_add(top, bottom, 4)  # (N, C, rh, rw, g+1, g+1)
    canvas = canvas.permute(0, 1, 4, 2, 5, 3).reshape(n, c, (g + 1) * rh, (g + 1) * rw)

    # the transposed convolution's padding crops p per side, keeping (g+1)*r - 2p rows: g*r for even r, one
    # short for odd r, where the authors repeat the last one. Rows p .. p + g*r - 2, then canvas row
    # (g+1)*r - p - 1, which is p + g*r - 1 for even r and the repeated p + g*r - 2 for odd r (no branch on
    # the parity, so one dynamic-shape graph serves every rate)
    y = torch.cat([canvas.narrow(2, ph, g * rh - 1), canvas.narrow(2, (g + 1) * rh - ph - 1, 1)], dim=2)
    return torch.cat([y.narrow(3, pw, g * rw - 1), y.narrow(3, (g + 1) * rw - pw - 1, 1)], dim=3)


def _overlap_add(first: torch.Tensor, second: torch.Tensor, dim: int) -> torch.Tensor:
    """Block grids of length g along ``dim``, ``second`` placed one block after ``first``, summed: length g+1."""
    g = first.shape[dim]
    middle = first.narrow(dim, 1, g - 1) + second.narrow(dim, 0, g - 1)
    return torch.cat([first.narrow(dim, 0, 1), middle, second.narrow(dim, g - 1, 1)], dim)
