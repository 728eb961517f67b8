"""A convolution with few output channels, for exported graphs: as a space-to-depth convolution.

ONNX Runtime's fast CPU convolutions (NCHWc) compute output channels in blocks of 16 (AVX-512), so a
convolution to 3 channels, like the ACR's last 7x7 conv to RGB at full resolution, pays for 16: profiled on FAR at
512 x 512 it took 117 ms, 42 GFLOP/s, a tenth of the graph's conv rate (README "FAR on the CPU"). Seen through a
2x2 space-to-depth of its input (4C channels at half the size), the same convolution is one with 4x the output
channels (one per output phase) and a ceil((k+1)/2)-wide kernel: 12 output channels instead of 3, the block
of 16 mostly used, and the same sums apart from the taps a phase does not reach, which are zero.

- :func:`conv2d_s2d` (``s2d.py``): that form, standard ONNX ops only (the kernel is rearranged from the weights,
  a weight-only computation the export folds into a constant);
- :func:`conv2d_few_outputs` (``op.py``): the dispatcher: ``F.conv2d`` normally, the space-to-depth form while
  :func:`inpaint.ops.mode.exporting`; :func:`conv2d_few_outputs_of_phases` the same for a reflect-padded x2
  upsampling given as its four phases, whose space-to-depth is built from the phases directly.
"""

from inpaint.ops.conv_s2d.op import conv2d_few_outputs, conv2d_few_outputs_of_phases
from inpaint.ops.conv_s2d.s2d import conv2d_of_s2d, conv2d_s2d, reflect_pad_s2d_from_phases, s2d_kernel

__all__ = ["conv2d_few_outputs", "conv2d_few_outputs_of_phases", "conv2d_of_s2d", "conv2d_s2d",
           "reflect_pad_s2d_from_phases", "s2d_kernel"]
