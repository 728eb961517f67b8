"""Transposed convolution for exported graphs: the stride-s transposed conv as s*s ordinary convolutions.

ONNX Runtime's CPU ``ConvTranspose`` kernel is slow (profiled on FAR at 512 x 512: 7 nodes, 45 % of the graph's
time; README "FAR on the CPU"), while its ``Conv`` has the fast blocked (NCHWc) kernels. Every output phase of a
transposed convolution is an ordinary convolution of the input with a sub-kernel (the sub-pixel identity, Shi et
al. CVPR 2016), so the export computes exactly the same multiply-adds as ``s*s`` small convolutions and interleaves
their outputs.

- :func:`conv_transpose2d_phases` (``phases.py``): that form, standard ONNX ops only;
- :func:`conv_transpose2d` (``op.py``): the dispatcher the models call: ``F.conv_transpose2d`` normally, the
  phase form while :func:`inpaint.ops.mode.exporting`; :func:`conv_transpose2d_phase_outputs` the phases
  themselves, for a consumer that takes them without the interleave.
"""

from inpaint.ops.conv_transpose.op import conv_transpose2d, conv_transpose2d_phase_outputs, phase_form_applies
from inpaint.ops.conv_transpose.phases import conv_transpose2d_phases, interleave_phases, phase_convolutions, phase_taps

__all__ = ["conv_transpose2d", "conv_transpose2d_phase_outputs", "conv_transpose2d_phases", "interleave_phases",
           "phase_convolutions", "phase_form_applies", "phase_taps"]
