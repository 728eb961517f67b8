"""FFT for the FFC Fourier unit: ``torch.fft`` for training, DFT-matrix products in exported graphs.

- :func:`rfft2` / :func:`irfft2` (``op.py``): the dispatchers the Fourier unit calls, in LaMa's stacked
  real/imaginary channel layout; DFT form while :func:`inpaint.ops.mode.exporting`.
- :func:`rfft2_dft_stacked` / :func:`irfft2_dft_stacked` (``dft.py``): the export form, standard ONNX ops only
  (no ``DFT``), because TensorRT before 11.2 and ONNX Runtime's CUDA provider have no DFT; two matrix products per
  transform on the real and imaginary parts stacked; :func:`rfft2_dft` / :func:`irfft2_dft` take them apart.
"""

from inpaint.ops.fft.dft import irfft2_dft, irfft2_dft_stacked, rfft2_dft, rfft2_dft_stacked
from inpaint.ops.fft.op import irfft2, rfft2

__all__ = ["irfft2", "irfft2_dft", "irfft2_dft_stacked", "rfft2", "rfft2_dft", "rfft2_dft_stacked"]
