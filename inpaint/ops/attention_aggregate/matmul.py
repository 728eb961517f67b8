"""Export-friendly exact form of the masked attention aggregation: one matrix product, no unfold.

A (2 r_h) x (2 r_w) patch at stride r is 2 x 2 blocks of r_h x r_w. Cut the edge-padded features into a
(g+1) x (g+1) grid of such blocks ``B`` (a block = one row of r_h * r_w * C values). Token k = (i, j) owns
blocks k + d, d = (dy, dx) in {0, 1}^2, and query q's block d lands on canvas block q + d, so canvas block m is

    canvas[m] = sum_d sum_k scores[m - d, k] * B[k + d] = sum_b P[m, b] * B[b],
    P[m, b] = sum_d scores[m - d, b - d]          (terms outside the g x g token grid are 0)

``P`` ((g+1)^2 x (g+1)^2, :func:`paste_matrix`) is built from the scores alone (4 shifted copies of a
g^4 tensor), and the whole overlap-add becomes ONE matrix product with the blocks: ``N * (g+1)^4 * C *
r_h * r_w`` multiply-adds, 1/3 of the reference's ``4 * N * L^2 * C * r_h * r_w`` at g = 16. The blocks are
laid out channels-last (token rows), so the two layout changes are transposes of whole rows of r_w * C
values, and the crop is one gather per axis. Cropping ``p`` on each side, repeating the last row (column) for
odd r, and dividing by 4 (folded into P; a power of two, so exact) gives the authors' transposed-convolution
result (``reference.py``) to rounding. Every size is computed from the input shapes without branching on
the rate, so one graph serves any H, W (ONNX Pad, Transpose, Reshape, MatMul, Gather).
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
    side = g + 1  # blocks per axis of the padded map and of the canvas

    # rows [-p, g*r + r - p) of x, edge-replicated: exactly the (g+1)*r rows the g patches read
    padded = F.pad(x, (pw, rw - pw, ph, rh - ph), mode="replicate")  # (N, C, (g+1)rh, (g+1)rw)
    blocks = padded.permute(0, 2, 3, 1).reshape(n, side, rh, side, rw * c).transpose(2, 3)  # (N, g+1, g+1, rh, rw*C)
    blocks = blocks.reshape(n, side * side, rh * rw * c)  # block b = (i, j) as one row
    canvas = torch.matmul(paste_matrix(scores.to(x.dtype), g), blocks)  # (N, (g+1)^2, rh*rw*C)
    canvas = canvas.reshape(n, side, side, rh, rw * c).transpose(2, 3).reshape(n, side * rh, side * rw, c)

    # the transposed convolution's padding crops p per side, keeping (g+1)*r - 2p rows: g*r for even r, one
    # short for odd r, where the authors repeat the last one: canvas rows p .. p + g*r - 1 with the index
    # clamped at (g+1)*r - p - 1 (= p + g*r - 1 for even r, p + g*r - 2 for odd r; no branch on the parity)
    y = canvas.index_select(1, _crop_index(g, rh, ph, x.device)).index_select(2, _crop_index(g, rw, pw, x.device))
    return y.permute(0, 3, 1, 2)  # (N, C, H, W)


def paste_matrix(scores: torch.Tensor, g: int) -> torch.Tensor:
    """P (N, (g+1)^2, (g+1)^2) from scores (N, g*g, g*g): ``P[m, b] = sum_d scores[m - d, b - d] / 4`` over
    d in {0, 1}^2, block indices m, b on the (g+1) x (g+1) grid in raster order (module docstring)."""
    n = scores.shape[0]
    s = scores.reshape(n, g, g, g, g) / OVERLAP_DIVISOR  # (N, query row, query col, key row, key col)
    shifted = [F.pad(s, (dx, 1 - dx, dy, 1 - dy, dx, 1 - dx, dy, 1 - dy)) for dy in (0, 1) for dx in (0, 1)]
    return (shifted[0] + shifted[1] + shifted[2] + shifted[3]).reshape(n, (g + 1) ** 2, (g + 1) ** 2)


def _crop_index(g: int, r: int, p: int, device: torch.device) -> torch.Tensor:
    """(g*r,) int64 canvas rows (or columns) kept: p, p+1, ..., clamped at (g+1)*r - p - 1."""
    return torch.clamp(torch.arange(g * r, device=device) + p, max=(g + 1) * r - p - 1)
