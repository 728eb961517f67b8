"""Triton kernel of the mask-aware dynamic convolution: one launch computes ``y`` (contract in ``contract.py``).

Every program owns ``BLOCK_P`` output pixels (flattened over N, H_out, W_out) and ``BLOCK_CO`` output
channels. For each kernel tap ``t = (ci, ky, kx)`` it forms the per-pixel kernel row from the mask features
with one small matrix product and accumulates it against the image feature under the tap:

    K_t[p, co] = sum_j m[p, j] * weight[t*C_out + co, j] + bias[t*C_out + co]       (the 1x1 generator)
    y[p, co]  += e[p shifted by tap t] * K_t[p, co]                                  (the dynamic conv)

which is the per-window reference (``reference.py``) without ever holding a window's kernel in memory:
``C_in*k*k*C_out*C_m`` multiply-adds per output pixel, the factorised form's count. Accumulation is float32
for float32, float16 and bfloat16 tensors (``tl.dot`` with float32 output: float16 weights give float16
products, float32 and bfloat16 weights IEEE float32 products, so no TF32 rounding). Zero padding is a masked load. Indices are int32: every tensor must hold fewer than
2**31 elements.

The same ``@triton.jit`` kernel serves three callers: :func:`dynamic_conv_triton` (torch tensors: CUDA, or
CPU under ``TRITON_INTERPRET=1``), the TensorRT plugin's JIT ``impl`` and its AOT ``aot_impl``, which compiles
it to PTX (``trt.py``). Its runtime parameters are ordered as TensorRT's AOT launch passes them: input
pointers, int32 scalars, output pointer (:data:`KERNEL_SCALARS`).
"""

from __future__ import annotations

import triton
import triton.language as tl

#: the kernel's runtime int32 parameters, between the input and the output pointers (TensorRT's order)
KERNEL_SCALARS = ("n", "c_in", "h", "w", "c_m", "h_out", "w_out", "c_out")
#: tensor parameters: inputs (ONNX node order), then the output
KERNEL_INPUTS = ("e_ptr", "m_ptr", "weight_ptr", "bias_ptr")
KERNEL_OUTPUTS = ("y_ptr",)
#: output channels per program (a power of two, >= 16 for tl.dot); MADF's widest level has 128
BLOCK_CO = 32
#: mask channels per inner product (>= 16 for tl.dot); MADF has 16 mask channels, so one step
BLOCK_M = 16
#: output pixels per program, one per tactic of the TensorRT plugin (tactic i -> TACTIC_BLOCK_P[i - 1])
TACTIC_BLOCK_P = (32, 64)
#: warps per program (Triton's default)
NUM_WARPS = 4
#: tactic 2 on targets with Blackwell tensor memory (sm_100/101/103/110) for float16 generator weights: Triton 3.9
#: gives the float16 ``tl.dot`` of 64-pixel programs tensor memory there (measured: tmem_size=32 on sm_100, sm_103
#: and sm_110, 0 on sm_90/120/121), which TensorRT's AOT launch cannot provide; 32 pixels x 8 warps needs none
TMEM_SAFE_TACTIC_2 = (32, 8)


@triton.jit
def dynamic_conv_kernel(
    e_ptr,
    m_ptr,
    weight_ptr,
    bias_ptr,
    n,
    c_in,
    h,
    w,
    c_m,
    h_out,
    w_out,
    c_out,
    y_ptr,
    K: tl.constexpr,
    STRIDE: tl.constexpr,
    PAD: tl.constexpr,
    HAS_BIAS: tl.constexpr,
    IEEE_FP32: tl.constexpr,
    BLOCK_P: tl.constexpr,
    BLOCK_CO: tl.constexpr,
    BLOCK_M: tl.constexpr,
):
    """e (n, c_in, h, w), m (n, c_m, h_out, w_out), weight (c_in*K*K*c_out, c_m), bias (c_in*K*K*c_out,)
    -> y (n, c_out, h_out, w_out); all contiguous. Grid: (cdiv(n*h_out*w_out, BLOCK_P), cdiv(c_out, BLOCK_CO))."""
    pid_p = tl.program_id(0)
    pid_c = tl.program_id(1)
    pix = pid_p * BLOCK_P + tl.arange(0, BLOCK_P)  # flattened (b, oy, ox)
    co = pid_c * BLOCK_CO + tl.arange(0, BLOCK_CO)
    hw_out = h_out * w_out
    pix_ok = pix < n * hw_out
    co_ok = co < c_out
    b = pix // hw_out
    rest = pix % hw_out
    oy = rest // w_out
    ox = rest % w_out
    iy0 = oy * STRIDE - PAD
    ix0 = ox * STRIDE - PAD
    j = tl.arange(0, BLOCK_M)

    acc = tl.zeros((BLOCK_P, BLOCK_CO), dtype=tl.float32)
    for ci in range(0, c_in):
        e_base = (b * c_in + ci) * h
        for ky in range(0, K):
            iy = iy0 + ky
            row_ok = pix_ok & (iy >= 0) & (iy < h)
            for kx in range(0, K):
                ix = ix0 + kx
                ok = row_ok & (ix >= 0) & (ix < w)
                e_t = tl.load(e_ptr + (e_base + iy) * w + ix, mask=ok, other=0.0).to(tl.float32)  # (BLOCK_P,)
                row = ((ci * K + ky) * K + kx) * c_out + co  # generator channel of tap t, per output channel
                if HAS_BIAS:
                    k_t = tl.load(bias_ptr + row, mask=co_ok, other=0.0).to(tl.float32)[None, :] + tl.zeros(
                        (BLOCK_P, BLOCK_CO), dtype=tl.float32
                    )
                else:
                    k_t = tl.zeros((BLOCK_P, BLOCK_CO), dtype=tl.float32)
                for j0 in range(0, c_m, BLOCK_M):
                    jj = j0 + j
                    j_ok = jj < c_m
                    m_t = tl.load(
                        m_ptr + (b[:, None] * c_m + jj[None, :]) * hw_out + rest[:, None],
                        mask=pix_ok[:, None] & j_ok[None, :],
                        other=0.0,
                    )  # (BLOCK_P, BLOCK_M)
                    w_t = tl.load(
                        weight_ptr + row[None, :] * c_m + jj[:, None], mask=j_ok[:, None] & co_ok[None, :], other=0.0
                    )  # (BLOCK_M, BLOCK_CO)
                    if IEEE_FP32:
                        k_t = tl.dot(m_t.to(tl.float32), w_t.to(tl.float32), k_t, input_precision="ieee")
                    else:
                        k_t = tl.dot(m_t.to(tl.float16), w_t.to(tl.float16), k_t)
                acc += e_t[:, None] * k_t
    out = y_ptr + (b[:, None] * c_out + co[None, :]) * hw_out + rest[:, None]
    tl.store(out, acc.to(y_ptr.dtype.element_ty), mask=pix_ok[:, None] & co_ok[None, :])


def output_size(h: int, w: int, kernel_size: int, stride: int, pad: int) -> tuple[int, int]:
    """(H_out, W_out) = ((H + 2p - k) // s + 1, (W + 2p - k) // s + 1), as in ``contract.py``."""
    return (h + 2 * pad - kernel_size) // stride + 1, (w + 2 * pad - kernel_size) // stride + 1


def constexprs(kernel_size: int, stride: int, pad: int, dtype_name: str, block_p: int, has_bias: bool = True) -> dict:
    """The compile-time constants of :func:`dynamic_conv_kernel` for one op instance and tactic.

    ``dtype_name``: "fp32", "fp16" or "bf16", the generator weight's dtype: float16 weights get tensor-core
    float16 products, float32 and bfloat16 weights IEEE float32 products (operands cast up); float32 sums.
    """
    return {
        "K": int(kernel_size),
        "STRIDE": int(stride),
        "PAD": int(pad),
        "HAS_BIAS": bool(has_bias),
        "IEEE_FP32": dtype_name != "fp16",
        "BLOCK_P": int(block_p),
        "BLOCK_CO": BLOCK_CO,
        "BLOCK_M": BLOCK_M,
    }


def tactic_config(tactic: int, arch: int = 0, weight_dtype: str = "fp32") -> tuple[int, int]:
    """(BLOCK_P, warps) of a TensorRT tactic (1, 2, ...) for ``sm_<arch>`` and the generator weight's dtype.

    Tactic t is ``TACTIC_BLOCK_P[t - 1]`` pixels with :data:`NUM_WARPS` warps, except tactic 2 of float16
    weights on tensor-memory targets (``triton_aot.TMEM_ARCHS``), which is :data:`TMEM_SAFE_TACTIC_2`.
    """
    from inpaint.ops.triton_aot import TMEM_ARCHS

    tactic = max(int(tactic), 1)
    if tactic == 2 and weight_dtype == "fp16" and int(arch) in TMEM_ARCHS:
        return TMEM_SAFE_TACTIC_2
    return TACTIC_BLOCK_P[tactic - 1], NUM_WARPS


def kernel_scalars(e_shape, m_shape, y_shape) -> tuple:
    """The kernel's int32 arguments (:data:`KERNEL_SCALARS`) for tensors of these shapes."""
    n, c_in, h, w = e_shape
    return (n, c_in, h, w, m_shape[1], m_shape[2], m_shape[3], y_shape[1])


def launch_grid(n: int, h_out: int, w_out: int, c_out: int, block_p: int) -> tuple:
    """Programs along (output pixels, output-channel tiles)."""
    return (triton.cdiv(n * h_out * w_out, block_p), triton.cdiv(c_out, BLOCK_CO), 1)


def launch(e, m, weight, bias, y, kernel_size: int, stride: int, pad: int, block_p: int = TACTIC_BLOCK_P[0]) -> None:
    """Launch the kernel on torch tensors (contiguous; ``y`` preallocated, shape and dtype per ``contract.py``)."""
    scalars = kernel_scalars(tuple(e.shape), tuple(m.shape), tuple(y.shape))
    dot_dtype = "fp16" if str(weight.dtype) == "torch.float16" else "fp32"  # else IEEE float32 products
    grid = launch_grid(y.shape[0], y.shape[2], y.shape[3], y.shape[1], block_p)
    dynamic_conv_kernel[grid](
        e,
        m,
        weight,
        weight if bias is None else bias,
        *scalars,
        y,
        num_warps=NUM_WARPS,
        **constexprs(kernel_size, stride, pad, dot_dtype, block_p, has_bias=bias is not None),
    )


def dynamic_conv_triton(e, m, weight, bias, kernel_size: int, stride: int, pad: int):
    """Mask-aware dynamic convolution in one Triton launch. Same contract as
    :func:`inpaint.ops.dynamic_conv.dynamic_conv` (no activation).

    Args:
        e: (N, C_in, H, W) float32, float16 or bfloat16 image features (CUDA; CPU under ``TRITON_INTERPRET=1``).
        m: (N, C_m, H_out, W_out) mask features at the output resolution, float32, float16 or bfloat16.
        weight: (C_in*k*k*C_out, C_m, 1, 1) generator weight; layout in ``contract.py``.
        bias: (C_in*k*k*C_out,) generator bias, or None.
        kernel_size, stride, pad: k, s, p; H_out = (H + 2p - k) // s + 1, likewise W_out.
    Returns:
        (N, C_out, H_out, W_out) in ``e``'s dtype, accumulated in float32.
    Raises:
        ValueError: shapes that do not fit the contract.
    """
    import torch

    if e.ndim != 4 or m.ndim != 4:
        raise ValueError(f"e and m must be 4-D (N, C, H, W), got {tuple(e.shape)} and {tuple(m.shape)}")
    n, c_in, h, w = e.shape
    k = int(kernel_size)
    h_out, w_out = output_size(h, w, k, int(stride), int(pad))
    if m.shape[0] != n or tuple(m.shape[2:]) != (h_out, w_out):
        raise ValueError(f"mask features are {tuple(m.shape)}, expected ({n}, C_m, {h_out}, {w_out})")
    c_m = m.shape[1]
    g = weight.shape[0]
    if weight.ndim != 4 or weight.shape[1] != c_m or g % (c_in * k * k):
        raise ValueError(f"generator weight has shape {tuple(weight.shape)}, expected (C_in*k*k*C_out, {c_m}, 1, 1) with C_in={c_in}, k={k}")
    if bias is not None and tuple(bias.shape) != (g,):
        raise ValueError(f"generator bias has shape {tuple(bias.shape)}, expected ({g},)")
    c_out = g // (c_in * k * k)
    y = torch.empty((n, c_out, h_out, w_out), dtype=e.dtype, device=e.device)
    if y.numel() == 0:
        return y
    launch(
        e.contiguous(),
        m.contiguous(),
        weight.reshape(g, c_m).contiguous(),
        None if bias is None else bias.contiguous(),
        y,
        k,
        int(stride),
        int(pad),
    )
    return y
