"""The operator's contract, readable without torch (the runtime and the TensorRT plugin use it).

ONNX node ``inpaint::MaskAwareDynamicConv``::

    inputs   e       (N, C_in, H, W)                 float32  image features
             m       (N, C_m, H_out, W_out)          float32  mask features at the output resolution
             weight  (C_in*k*k*C_out, C_m, 1, 1)     float32  1x1 kernel-generator weight
             bias    (C_in*k*k*C_out,)               float32  kernel-generator bias
    output   y       (N, C_out, H_out, W_out)        float32  (no activation)
    attrs    kernel_size k, stride s, pad p          ints
             H_out = (H + 2p - k) // s + 1, likewise W_out

Generator channel layout (the authors' ``FilterGen.view``): channel ``((ci*k + ky)*k + kx)*C_out + co``
holds the kernel tap for input channel ``ci``, tap ``(ky, kx)`` and output channel ``co``; that is
exactly the row order of ``torch.nn.functional.unfold`` times ``C_out``.
"""

from __future__ import annotations

from dataclasses import dataclass

DOMAIN = "inpaint"
OP_TYPE = "MaskAwareDynamicConv"
VERSION = 1


@dataclass(frozen=True)
class DynamicConvSpec:
    """Static description of one dynamic convolution (one MADF encoder level)."""

    in_channels: int
    out_channels: int
    mask_channels: int
    kernel_size: int
    stride: int
    pad: int

    @property
    def generator_channels(self) -> int:
        """Output channels of the 1x1 kernel generator: C_in * k * k * C_out."""
        return self.in_channels * self.kernel_size**2 * self.out_channels

    def out_size(self, h: int, w: int) -> tuple[int, int]:
        k, s, p = self.kernel_size, self.stride, self.pad
        return (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
