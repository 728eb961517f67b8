"""The FFT dispatchers the FFC Fourier unit calls: torch.fft normally, DFT-matrix products while exporting.

Both return / take LaMa's real layout of a spectrum (saicinpainting ffc.py, also FAR's ACR/networks/ffc.py):
``torch.stack((X.real, X.imag), dim=-1)``, permuted to (N, C, 2, H, W//2+1) and viewed as (N, 2C, H, W//2+1),
i.e. channel ``2c`` is the real part of channel ``c`` and ``2c + 1`` its imaginary part. The switch is
:func:`inpaint.ops.mode.exporting` (both export variants), read at trace time; exports for ONNX Runtime's CPU
(:func:`inpaint.ops.mode.emitting_dft_nodes`) keep ``torch.fft``, which the exporter writes as ONNX ``DFT`` nodes.
"""

from __future__ import annotations

import torch

from inpaint.ops.fft.dft import irfft2_dft_stacked, rfft2_dft_stacked
from inpaint.ops.mode import emitting_dft_nodes, exporting


def _compute_dtype(t: torch.Tensor) -> torch.Tensor:
    # the authors' FourierUnit casts to float32 first; float64 is kept (tests)
    return t if t.dtype == torch.float64 else t.float()


def rfft2(x: torch.Tensor) -> torch.Tensor:
    """Orthonormal 2-D real FFT of each channel, in LaMa's stacked layout.

    Args:
        x: (N, C, H, W) float (computed in float32; float64 kept).
    Returns:
        (N, 2C, H, W//2+1) float32: channel 2c = Re, 2c+1 = Im of ``torch.fft.rfft2(x[:, c], norm="ortho")``.
    """
    n, c, h, w = x.shape
    x = _compute_dtype(x)
    if exporting() and not emitting_dft_nodes():
        stacked = rfft2_dft_stacked(x)  # (N, C, 2, H, Wr) as it comes: no copy into the layout
    else:
        spectrum = torch.fft.rfft2(x, dim=(-2, -1), norm="ortho")
        stacked = torch.stack((spectrum.real, spectrum.imag), dim=2)
    return stacked.reshape(n, 2 * c, h, w // 2 + 1)  # (N, C, 2, H, Wr) -> (N, 2C, H, Wr)


def irfft2(spectrum: torch.Tensor, size) -> torch.Tensor:
    """Inverse of :func:`rfft2`: orthonormal 2-D C2R FFT of a spectrum in LaMa's stacked layout.

    Args:
        spectrum: (N, 2C, H, W//2+1) float, channel 2c = Re, 2c+1 = Im (computed in float32; float64 kept).
        size: (H, W) of the output; the Fourier unit passes its input's ``x.shape[-2:]``.
    Returns:
        (N, C, H, W) float32: ``torch.fft.irfft2(Re + i Im, s=size, norm="ortho")`` per channel.
    """
    n, c2, hs, ws = spectrum.shape
    spectrum = _compute_dtype(spectrum).reshape(n, c2 // 2, 2, hs, ws)  # (N, C, 2, H, Wr)
    if exporting() and not emitting_dft_nodes():
        return irfft2_dft_stacked(spectrum, size)
    real, imag = spectrum[:, :, 0], spectrum[:, :, 1]
    return torch.fft.irfft2(torch.complex(real, imag), s=tuple(size), dim=(-2, -1), norm="ortho")
