"""Triton kernel of the masked attention aggregation: one launch computes ``y`` (contract in ``contract.py``).

Every program owns ``BLOCK_P`` output pixels of one image (flattened over H, W) and ``BLOCK_C`` channels, and
gathers what the authors' transposed convolution pastes there. Output row ``y`` reads canvas row
``cy = min(y + p_h, (g+1) r_h - p_h - 1)`` (the crop by ``p = ceil(r/2)`` and, for odd ``r``, the repeated last
row), which lies in canvas block ``cy // r_h``; it is covered by the patches of the (at most two) query rows
``q_i = cy // r_h - d`` with ``d`` in {0, 1}, at offset ``cy % r_h + d r_h`` inside their 2r-high patch. Query
``q``'s patch is ``sum_k scores[q, k] V_k``, and key ``k = (k_i, k_j)``'s patch row at that offset is row
``(k_i + d) r_h + cy % r_h - p_h`` of ``x``, clamped to the image (edge replication). Likewise for columns, so

    y[c, y, x] = 1/4 * sum_{d, e in {0,1}, q valid} sum_k scores[q = (q_i, q_j), k] * x[c, row(k_i, d), col(k_j, e)]

That is the reference's ``4 L C H W`` multiply-adds per image, accumulated in float32 (float32, float16 or
bfloat16 tensors; ``scores`` may be float32 while ``x`` is 16-bit, as in mixed-precision graphs). Indices are int32.

The same ``@triton.jit`` kernel serves :func:`masked_attention_aggregate_triton` (torch tensors: CUDA, or CPU
under ``TRITON_INTERPRET=1``) and the TensorRT plugin's ``impl`` and ``aot_impl`` (``trt.py``); its runtime
parameters are in TensorRT's AOT order: input pointers, int32 scalars, output pointer.
"""

from __future__ import annotations

import triton
import triton.language as tl

from inpaint.ops.attention_aggregate.contract import OVERLAP_DIVISOR, grid_side, resolve_rate

#: runtime int32 parameters, between the input and the output pointers (TensorRT's AOT order)
KERNEL_SCALARS = ("n", "c", "h", "w", "rate_h", "rate_w")
#: tensor parameters: inputs (ONNX node order), then the output
KERNEL_INPUTS = ("x_ptr", "scores_ptr")
KERNEL_OUTPUTS = ("y_ptr",)
#: channels per program
BLOCK_C = 16
#: output pixels per program, one per tactic of the TensorRT plugin (tactic i -> TACTIC_BLOCK_P[i - 1])
TACTIC_BLOCK_P = (64, 128)
#: warps per program (Triton's default)
NUM_WARPS = 4


@triton.jit
def attention_aggregate_kernel(
    x_ptr,
    scores_ptr,
    n,
    c,
    h,
    w,
    rate_h,
    rate_w,
    y_ptr,
    G: tl.constexpr,
    SCALE: tl.constexpr,
    BLOCK_P: tl.constexpr,
    BLOCK_C: tl.constexpr,
):
    """x (n, c, h, w), scores (n, G*G, G*G) -> y (n, c, h, w), contiguous; h = G*rate_h, w = G*rate_w.
    Grid: (cdiv(h*w, BLOCK_P), cdiv(c, BLOCK_C), n)."""
    pid_p = tl.program_id(0)
    pid_c = tl.program_id(1)
    b = tl.program_id(2)
    pix = pid_p * BLOCK_P + tl.arange(0, BLOCK_P)
    ch = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)
    pix_ok = pix < h * w
    ch_ok = ch < c
    oy = pix // w
    ox = pix % w
    pad_h = (rate_h + 1) // 2
    pad_w = (rate_w + 1) // 2
    cy = tl.minimum(oy + pad_h, (G + 1) * rate_h - pad_h - 1)  # canvas row (crop, odd-r repeat)
    cx = tl.minimum(ox + pad_w, (G + 1) * rate_w - pad_w - 1)
    by = cy // rate_h  # canvas block
    bx = cx // rate_w
    ay = cy % rate_h - pad_h  # row inside a block, relative to the patch origin's padding
    ax = cx % rate_w - pad_w
    l_tokens = G * G
    x_img = x_ptr + b * c * h * w + ch[None, :] * (h * w)  # (1, BLOCK_C) channel planes of image b
    s_img = scores_ptr + b * l_tokens * l_tokens

    # the four candidate queries (by - dy, bx - dx), dy, dx in {0, 1}, and whether each lies on the grid
    q00 = (by * G + bx) * l_tokens
    q01 = (by * G + bx - 1) * l_tokens
    q10 = ((by - 1) * G + bx) * l_tokens
    q11 = ((by - 1) * G + bx - 1) * l_tokens
    ok_y0 = by < G
    ok_y1 = by >= 1
    ok_x0 = bx < G
    ok_x1 = bx >= 1
    ok00 = pix_ok & ok_y0 & ok_x0
    ok01 = pix_ok & ok_y0 & ok_x1
    ok10 = pix_ok & ok_y1 & ok_x0
    ok11 = pix_ok & ok_y1 & ok_x1
    tile_ok = pix_ok[:, None] & ch_ok[None, :]

    acc = tl.zeros((BLOCK_P, BLOCK_C), dtype=tl.float32)
    for ki in range(0, G):
        row0 = tl.minimum(tl.maximum(ki * rate_h + ay, 0), h - 1) * w  # patch row for dy = 0 (x row, clamped)
        row1 = tl.minimum(tl.maximum((ki + 1) * rate_h + ay, 0), h - 1) * w  # dy = 1
        for kj in range(0, G):
            col0 = tl.minimum(tl.maximum(kj * rate_w + ax, 0), w - 1)
            col1 = tl.minimum(tl.maximum((kj + 1) * rate_w + ax, 0), w - 1)
            k = ki * G + kj
            s00 = tl.load(s_img + q00 + k, mask=ok00, other=0.0).to(tl.float32)
            s01 = tl.load(s_img + q01 + k, mask=ok01, other=0.0).to(tl.float32)
            s10 = tl.load(s_img + q10 + k, mask=ok10, other=0.0).to(tl.float32)
            s11 = tl.load(s_img + q11 + k, mask=ok11, other=0.0).to(tl.float32)
            v00 = tl.load(x_img + (row0 + col0)[:, None], mask=tile_ok, other=0.0).to(tl.float32)
            v01 = tl.load(x_img + (row0 + col1)[:, None], mask=tile_ok, other=0.0).to(tl.float32)
            v10 = tl.load(x_img + (row1 + col0)[:, None], mask=tile_ok, other=0.0).to(tl.float32)
            v11 = tl.load(x_img + (row1 + col1)[:, None], mask=tile_ok, other=0.0).to(tl.float32)
            acc += s00[:, None] * v00 + s01[:, None] * v01 + s10[:, None] * v10 + s11[:, None] * v11
    out = y_ptr + b * c * h * w + ch[None, :] * (h * w) + pix[:, None]
    tl.store(out, (acc * SCALE).to(y_ptr.dtype.element_ty), mask=tile_ok)


def constexprs(grid: int, block_p: int) -> dict:
    """Compile-time constants of :func:`attention_aggregate_kernel`: token grid side g and the tactic's tile."""
    return {"G": int(grid), "SCALE": 1.0 / OVERLAP_DIVISOR, "BLOCK_P": int(block_p), "BLOCK_C": BLOCK_C}


def kernel_scalars(x_shape, rate: tuple[int, int]) -> tuple:
    """The kernel's int32 arguments (:data:`KERNEL_SCALARS`) for features of this shape and the resolved rate."""
    n, c, h, w = x_shape
    return (n, c, h, w, int(rate[0]), int(rate[1]))


def launch_grid(n: int, c: int, h: int, w: int, block_p: int) -> tuple:
    """Programs along (output pixels, channel tiles, images)."""
    return (triton.cdiv(h * w, block_p), triton.cdiv(c, BLOCK_C), n)


def launch(x, scores, y, rate: tuple[int, int], block_p: int = TACTIC_BLOCK_P[0]) -> None:
    """Launch the kernel on torch tensors (contiguous; ``y`` preallocated like ``x``; ``rate`` resolved)."""
    n, c, h, w = x.shape
    g = grid_side(scores.shape[-1])
    attention_aggregate_kernel[launch_grid(n, c, h, w, block_p)](
        x, scores, *kernel_scalars(tuple(x.shape), rate), y, num_warps=NUM_WARPS, **constexprs(g, block_p)
    )


def masked_attention_aggregate_triton(x, scores, rate=None):
    """FAR's prior-attention aggregation in one Triton launch. Same contract as
    :func:`inpaint.ops.attention_aggregate.masked_attention_aggregate` (no residual).

    Args:
        x: (N, C, H, W) float32, float16 or bfloat16 features, H = g * r_h, W = g * r_w (CUDA; CPU under ``TRITON_INTERPRET=1``).
        scores: (N, L, L) float32, float16 or bfloat16 token attention, L = g * g, row = query, column = key.
        rate: (r_h, r_w), an int, or None to derive it from the shapes (entries 0: derived).
    Returns:
        (N, C, H, W) in ``x``'s dtype, accumulated in float32.
    Raises:
        ValueError: shapes that do not fit (``contract.resolve_rate``).
    """
    import torch

    if x.ndim != 4 or scores.ndim != 3 or scores.shape[0] != x.shape[0] or scores.shape[1] != scores.shape[2]:
        raise ValueError(f"x must be (N, C, H, W) and scores (N, L, L), got {tuple(x.shape)} and {tuple(scores.shape)}")
    resolved = resolve_rate(x.shape[2], x.shape[3], scores.shape[-1], rate)
    y = torch.empty_like(x, memory_format=torch.contiguous_format)
    if y.numel() == 0:
        return y
    launch(x.contiguous(), scores.contiguous(), y, resolved)
    return y
