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


def rfft2_dft(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.fft.rfft2(x, norm="ortho")`` over the last two dims, as DFT-matrix products.

    Args:
        x: (..., H, W) real float32 (float64 is kept for tests); any H, W >= 1.
    Returns:
        (real, imag), each (..., H, W//2+1) in float32 (float64 for float64 input).
    """
    h, w = x.shape[-2], x.shape[-1]
    x = x.to(_dtype(x))
    inner = _inner_bins(w, x)
    ang_w = _phase(w, w // 2 + 1, w, x)  # (W, W//2+1)
    cos_w, sin_w = torch.cos(ang_w), torch.sin(ang_w) * inner  # sin is 0 at v = 0 and v = W/2; make it exact
    ang_h = _phase(h, h, h, x)  # (H, H), symmetric
    cos_h, sin_h = torch.cos(ang_h), torch.sin(ang_h)
    # along W (real input): a - i b with a = x C_W, b = x S_W
    a = torch.matmul(x, cos_w)  # (..., H, W//2+1)
    b = torch.matmul(x, sin_w)
    # along H: (C_H - i S_H)(a - i b) = (C_H a - S_H b) - i (C_H b + S_H a)
    scale = _inv_sqrt(h * w, x)
    real = (torch.matmul(cos_h, a) - torch.matmul(sin_h, b)) * scale
    imag = -(torch.matmul(cos_h, b) + torch.matmul(sin_h, a)) * scale
    return real, imag


def irfft2_dft(real: torch.Tensor, imag: torch.Tensor, size) -> torch.Tensor:
    """``torch.fft.irfft2(torch.complex(real, imag), s=size, norm="ortho")`` as DFT-matrix products.

    As torch's C2R transform, the imaginary parts at v = 0 and (even W) v = W/2 are ignored, and the
    spectrum is read as the half of a Hermitian one.

    Args:
        real, imag: (..., H, W//2+1) float32 (float64 kept), the half spectrum of ``rfft2``.
        size: (H, W) of the output (W's parity is not recoverable from W//2+1; FFC passes x.shape[-2:]).
    Returns:
        (..., H, W) real, float32 (float64 for float64 input).
    Raises:
        ValueError: the spectrum is not (..., H, W//2+1).
    """
    h, w = size
    if real.shape != imag.shape or real.shape[-2] != h or real.shape[-1] != w // 2 + 1:
        raise ValueError(f"spectrum is {tuple(real.shape)} / {tuple(imag.shape)}, expected (..., {h}, {w} // 2 + 1) for output size {(h, w)}")
    real = real.to(_dtype(real))
    imag, like = imag.to(real.dtype), real
    inner = _inner_bins(w, like)
    weight = 1.0 + inner  # C2R: bins 1 .. ceil(W/2)-1 stand for themselves and their conjugate mirror
    ang_h = _phase(h, h, h, like)
    cos_h, sin_h = torch.cos(ang_h), torch.sin(ang_h)
    # along H (complex, inverse): (C_H + i S_H)(re + i im)
    yr = torch.matmul(cos_h, real) - torch.matmul(sin_h, imag)  # (..., H, W//2+1)
    yi = torch.matmul(cos_h, imag) + torch.matmul(sin_h, real)
    # along W (C2R): x[w] = sum_v c_v (yr_v cos - yi_v sin)(2 pi v w / W); sin weight 0 at v = 0, W/2
    ang_w = _phase(w // 2 + 1, w, w, like)  # (W//2+1, W)
    cos_w = torch.cos(ang_w) * weight.unsqueeze(1)
    sin_w = torch.sin(ang_w) * (2.0 * inner).unsqueeze(1)
    return (torch.matmul(yr, cos_w) - torch.matmul(yi, sin_w)) * _inv_sqrt(h * w, like)
