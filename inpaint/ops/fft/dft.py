"""2-D real FFT as products with DFT matrices, for exported graphs (standard ONNX ops only).

The FFC's Fourier unit (LaMa, Suvorov et al. WACV 2022; FAR's ACR/networks/ffc.py) calls
``torch.fft.rfftn(x, dim=(-2, -1), norm="ortho")`` and ``torch.fft.irfftn(X, s=x.shape[-2:], dim=(-2, -1),
norm="ortho")``. ONNX has a ``DFT`` op, but TensorRT's parser reads it only from 11.2 and ONNX Runtime's CUDA
provider not at all (DESIGN.md), so the exported graph computes the same transforms as matrix products:

    rfft2:   X = F_H x F_W[:, :W//2+1] / sqrt(H W)            F_n[a, b] = exp(-2 pi i a b / n)
    irfft2:  x = Re( conj(F_H) X ) c-weighted cos/sin sums / sqrt(H W)   (C2R: half spectrum, Hermitian)

The cos/sin matrices are built inside the graph from ``torch.arange`` of the run-time sizes, with the
phase index reduced modulo n before the float conversion (``2 pi ((a b) mod n) / n``), so they are exact for
any H, W and one dynamic-shape export serves every size. Cost: ``H*W*(H + W/2)`` multiply-adds per channel
and direction (an FFT needs ``H*W*log(H*W)``); at FAR's 1/8 resolution (64 x 64 for 512 x 512 images) that is
negligible next to the FFC convolutions. float16 inputs would lose the transform's precision: the
Fourier unit computes in float32 (as the authors' code does), and so does :mod:`inpaint.ops.fft.op`.
"""

from __future__ import annotations

import math

import torch


def _dtype(like: torch.Tensor) -> torch.dtype:
    """float64 stays float64 (tests); everything else is computed in float32."""
    return torch.float64 if like.dtype == torch.float64 else torch.float32


def _phase(rows, cols, n, like: torch.Tensor) -> torch.Tensor:
    """(rows, cols) angles ``2 pi ((a * b) mod n) / n``; the sizes may be symbolic."""
    a = torch.arange(rows, device=like.device).unsqueeze(1)
    b = torch.arange(cols, device=like.device).unsqueeze(0)
    # n as a 0-d tensor: the ONNX translation of remainder by a symbolic Python scalar fails (torch 2.13)
    n_t = torch.ones((), dtype=torch.int64, device=like.device) * n
    return torch.remainder(a * b, n_t).to(_dtype(like)) * (2 * math.pi) / n_t.to(_dtype(like))


def _inv_sqrt(n, like: torch.Tensor) -> torch.Tensor:
    """1 / sqrt(n) as a 0-d tensor (n may be a symbolic size)."""
    return torch.rsqrt(torch.ones((), dtype=_dtype(like), device=like.device) * n)


def _inner_bins(w, like: torch.Tensor) -> torch.Tensor:
    """(W//2+1,) 1.0 where bin v of the half spectrum is neither 0 nor the Nyquist bin W/2, else 0.0."""
    v = torch.arange(w // 2 + 1, device=like.device)
    return ((v != 0) & (2 * v != w)).to(_dtype(like))


def _stack_h(top_left, top_right, bottom_left, bottom_right) -> torch.Tensor:
    """The (2H, 2H) block matrix [[top_left, top_right], [bottom_left, bottom_right]] of four (H, H) blocks."""
    return torch.cat([torch.cat([top_left, top_right], 1), torch.cat([bottom_left, bottom_right], 1)], 0)


def rfft2_dft_stacked(x: torch.Tensor) -> torch.Tensor:
    """``torch.fft.rfft2(x, norm="ortho")`` over the last two dims as TWO matrix products, parts stacked.

    Along W both real products ``x C_W`` and ``x S_W`` come from one broadcast MatMul that stacks them before
    the rows, (..., 2, H, V) = (..., 2H, V); along H the complex product is ONE real product with the (2H, 2H)
    block matrix [[C_H, -S_H], [-S_H, -C_H]], which leaves the real part above the imaginary one: LaMa's
    channel layout (channel 2c real, 2c + 1 imaginary) after a free reshape.

    Args:
        x: (..., H, W) real float32 (float64 is kept for tests); any H, W >= 1.
    Returns:
        (..., 2, H, W//2+1) float32 (float64 for float64 input): [..., 0] real, [..., 1] imaginary part.
    """
    h, w = x.shape[-2], x.shape[-1]
    x = x.to(_dtype(x))
    inner = _inner_bins(w, x)
    ang_w = _phase(w, w // 2 + 1, w, x)  # (W, W//2+1)
    along_w = torch.stack([torch.cos(ang_w), torch.sin(ang_w) * inner])  # (2, W, V): sin exact 0 at v = 0, W/2
    ab = torch.matmul(x.unsqueeze(-3), along_w)  # (..., 2, H, V): a = x C_W above b = x S_W; along W: a - i b
    ang_h = _phase(h, h, h, x)
    scale = _inv_sqrt(h * w, x)
    cos_h, sin_h = torch.cos(ang_h) * scale, torch.sin(ang_h) * scale
    # (C_H - i S_H)(a - i b) = (C_H a - S_H b) - i (S_H a + C_H b)
    along_h = _stack_h(cos_h, -sin_h, -sin_h, -cos_h)  # (2H, 2H)
    lead = ab.shape[:-3]
    out = torch.matmul(along_h, ab.reshape(*lead, 2 * h, w // 2 + 1))  # (..., 2H, V): real rows, then imaginary
    return out.reshape(*lead, 2, h, w // 2 + 1)


def irfft2_dft_stacked(spectrum: torch.Tensor, size) -> torch.Tensor:
    """``torch.fft.irfft2(real + i imag, s=size, norm="ortho")`` of a stacked spectrum as TWO matrix products.

    Along H the complex inverse is one real product with [[C_H, -S_H], [S_H, C_H]] on the stacked (2H, V)
    parts; along W the C2R sums ``yr c_v cos - yi c_v sin`` are one product of K = 2V after the parts are
    moved next to each other (a transpose of rows of V values). As torch's C2R transform, the imaginary parts
    at v = 0 and (even W) v = W/2 are ignored.

    Args:
        spectrum: (..., 2, H, W//2+1) float32 (float64 kept): [..., 0] real, [..., 1] imaginary part.
        size: (H, W) of the output (W's parity is not recoverable from W//2+1; FFC passes x.shape[-2:]).
    Returns:
        (..., H, W) real, float32 (float64 for float64 input).
    Raises:
        ValueError: the spectrum is not (..., 2, H, W//2+1).
    """
    h, w = size
    if spectrum.dim() < 3 or spectrum.shape[-3] != 2 or spectrum.shape[-2] != h or spectrum.shape[-1] != w // 2 + 1:
        raise ValueError(f"spectrum is {tuple(spectrum.shape)}, expected (..., 2, {h}, {w} // 2 + 1) for output size {(h, w)}")
    like = spectrum = spectrum.to(_dtype(spectrum))
    lead, v = spectrum.shape[:-3], w // 2 + 1
    ang_h = _phase(h, h, h, like)
    cos_h, sin_h = torch.cos(ang_h), torch.sin(ang_h)
    # along H (complex, inverse): (C_H + i S_H)(re + i im) = (C_H re - S_H im) + i (S_H re + C_H im)
    y = torch.matmul(_stack_h(cos_h, -sin_h, sin_h, cos_h), spectrum.reshape(*lead, 2 * h, v))  # (..., 2H, V)
    y = y.reshape(*lead, 2, h, v).transpose(-3, -2).reshape(*lead, h, 2 * v)  # (..., H, [yr | yi])
    # along W (C2R): x[w] = sum_v c_v (yr_v cos - yi_v sin)(2 pi v w / W); sin weight 0 at v = 0, W/2
    inner = _inner_bins(w, like)
    ang_w = _phase(v, w, w, like)  # (V, W)
    cos_w = torch.cos(ang_w) * (1.0 + inner).unsqueeze(1)
    sin_w = torch.sin(ang_w) * (2.0 * inner).unsqueeze(1)
    return torch.matmul(y, torch.cat([cos_w, -sin_w], 0) * _inv_sqrt(h * w, like))  # (..., H, W)


def rfft2_dft(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.fft.rfft2(x, norm="ortho")`` over the last two dims, as DFT-matrix products (:func:`rfft2_dft_stacked`).

    Args:
        x: (..., H, W) real float32 (float64 is kept for tests); any H, W >= 1.
    Returns:
        (real, imag), each (..., H, W//2+1) in float32 (float64 for float64 input).
    """
    stacked = rfft2_dft_stacked(x)
    return stacked.select(-3, 0), stacked.select(-3, 1)


def irfft2_dft(real: torch.Tensor, imag: torch.Tensor, size) -> torch.Tensor:
    """``torch.fft.irfft2(torch.complex(real, imag), s=size, norm="ortho")`` as DFT-matrix products
    (:func:`irfft2_dft_stacked`).

    Args:
        real, imag: (..., H, W//2+1) float32 (float64 kept), the half spectrum of ``rfft2``.
        size: (H, W) of the output.
    Returns:
        (..., H, W) real, float32 (float64 for float64 input).
    Raises:
        ValueError: the spectrum is not (..., H, W//2+1).
    """
    if real.shape != imag.shape:
        raise ValueError(f"spectrum is {tuple(real.shape)} / {tuple(imag.shape)}: real and imaginary parts differ in shape")
    return irfft2_dft_stacked(torch.stack([real, imag.to(real.dtype)], dim=-3), size)
