"""NumPy form of the mask-aware dynamic convolution (no torch), for ONNX Runtime's custom-op kernel.

The factorised form of ``factorized.py`` (DESIGN.md, "exact identity"):

    y = sum_j m_j * conv(e, W_j) + conv(e, B)

with ``W_j[co, ci, ky, kx] = weight[((ci*k + ky)*k + kx)*C_out + co, j]`` and ``B`` the bias laid out the
same way. The ordinary convolution with ``(C_m + 1) * C_out`` outputs is done as im2col (a strided
``sliding_window_view`` of the zero-padded input, copied once into an ``(N*L, C_in*k*k)`` matrix) and one
matrix product; the per-pixel contraction with ``[m, 1]`` follows. Peak memory is about
``N*L*(C_in*k*k + 2*(C_m+1)*C_out)`` floats (L = H_out*W_out), never the ``C_in*k*k*C_out`` floats per output
pixel that per-window kernels would need.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def factorize_generator_numpy(weight: np.ndarray, bias: np.ndarray | None, in_channels: int, kernel_size: int) -> np.ndarray:
    """Turn the 1x1 kernel generator into an ordinary conv kernel (NumPy twin of ``factorize_generator``).

    Args:
        weight: (C_in*k*k*C_out, C_m, 1, 1) float32 generator weight; channel layout in ``contract.py``.
        bias: (C_in*k*k*C_out,) float32 generator bias, or None (treated as zero).
        in_channels: C_in.
        kernel_size: k.
    Returns:
        ((C_m + 1) * C_out, C_in, k, k) float32: block j < C_m is ``W_j``, the last block is the bias kernel ``B``.
    """
    k = kernel_size
    g, c_m = weight.shape[:2]
    if weight.ndim != 4 or weight.shape[2:] != (1, 1) or g % (in_channels * k * k):
        raise ValueError(f"generator weight has shape {weight.shape}, expected (C_in*k*k*C_out, C_m, 1, 1) with C_in={in_channels}, k={k}")
    c_out = g // (in_channels * k * k)
    w = weight.reshape(in_channels, k, k, c_out, c_m).transpose(4, 3, 0, 1, 2)  # (C_m, C_out, C_in, k, k)
    if bias is None:
        b = np.zeros((1, c_out, in_channels, k, k), dtype=weight.dtype)
    else:
        if bias.shape != (g,):
            raise ValueError(f"generator bias has shape {bias.shape}, expected ({g},)")
        b = bias.reshape(in_channels, k, k, c_out).transpose(3, 0, 1, 2)[None]  # (1, C_out, C_in, k, k)
    return np.concatenate([w, b], 0).reshape((c_m + 1) * c_out, in_channels, k, k)


def dynamic_conv_numpy(
    e: np.ndarray, m: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, kernel_size: int, stride: int, pad: int
) -> np.ndarray:
    """Mask-aware dynamic convolution in NumPy, factorised. Same contract as
    :func:`~inpaint.ops.dynamic_conv.reference.dynamic_conv_windows` and the ONNX node (``contract.py``).

    Args:
        e: (N, C_in, H, W) float32 image features (any range).
        m: (N, C_m, H_out, W_out) float32 mask features at the output resolution (MADF: ReLU outputs of the
            mask branch, which is fed 1 = known).
        weight: (C_in*k*k*C_out, C_m, 1, 1) float32 kernel-generator weight.
        bias: (C_in*k*k*C_out,) float32 kernel-generator bias, or None.
        kernel_size: k; stride: s; pad: p (zero padding on all four sides).
            H_out = (H + 2p - k) // s + 1, likewise W_out.
    Returns:
        (N, C_out, H_out, W_out) float32, C-contiguous, no activation.
    """
    e = np.asarray(e, dtype=np.float32)
    m = np.asarray(m, dtype=np.float32)
    weight = np.asarray(weight, dtype=np.float32)
    bias = None if bias is None else np.asarray(bias, dtype=np.float32)
    k, s, p = int(kernel_size), int(stride), int(pad)
    if e.ndim != 4 or m.ndim != 4:
        raise ValueError(f"e and m must be 4-D (N, C, H, W), got {e.shape} and {m.shape}")
    n, c_in, h, w = e.shape
    h_out, w_out = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    if m.shape[0] != n or m.shape[2:] != (h_out, w_out):
        raise ValueError(f"mask features are {m.shape}, expected ({n}, C_m, {h_out}, {w_out})")
    c_m = m.shape[1]
    if weight.shape[1] != c_m:
        raise ValueError(f"generator weight has {weight.shape[1]} input channels, mask features have {c_m}")

    kernel = factorize_generator_numpy(weight, bias, c_in, k)  # ((C_m+1)*C_out, C_in, k, k)
    c_out = kernel.shape[0] // (c_m + 1)

    # im2col: a view of every k x k window, then only the strided windows are copied
    e_pad = np.pad(e, ((0, 0), (0, 0), (p, p), (p, p)))  # (N, C_in, H+2p, W+2p)
    windows = sliding_window_view(e_pad, (k, k), axis=(2, 3))  # (N, C_in, H+2p-k+1, W+2p-k+1, k, k), a view
    windows = windows[:, :, : (h_out - 1) * s + 1 : s, : (w_out - 1) * s + 1 : s]  # (N, C_in, H_out, W_out, k, k)
    cols = np.ascontiguousarray(windows.transpose(0, 2, 3, 1, 4, 5)).reshape(n * h_out * w_out, c_in * k * k)

    z = cols @ kernel.reshape(kernel.shape[0], c_in * k * k).T  # (N*L, (C_m+1)*C_out)
    z = z.reshape(n, h_out * w_out, c_m + 1, c_out)
    m_flat = m.reshape(n, c_m, h_out * w_out).transpose(0, 2, 1)  # (N, L, C_m)
    y = np.einsum("nlj,nljc->nlc", m_flat, z[:, :, :c_m]) + z[:, :, c_m]  # (N, L, C_out)
    return np.ascontiguousarray(y.transpose(0, 2, 1).reshape(n, c_out, h_out, w_out), dtype=np.float32)
