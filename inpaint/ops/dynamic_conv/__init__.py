"""MaskAwareDynamicConv: MADF's mask-aware dynamic convolution (Zhu et al., TIP 2021, Sec. III-A).

Every output window gets its own kernel, generated from the mask features by a linear 1x1 conv.
Two exact forms live here:

- :func:`dynamic_conv_windows` (``reference.py``): the paper's per-window form (unfold + one kernel per
  window). Memory grows with ``C_in*k*k*C_out`` floats per output pixel; kept as the reference.
- :func:`dynamic_conv` (``factorized.py``): ordinary convolutions over chunks of the ``C_m + 1`` generator groups
  and a per-pixel contraction with ``[m, 1]``, no intermediate wider than ``max(CHUNK_CHANNELS, C_out)``
  channels; the form the models use (eager, training and both ONNX variants' standard ops).

``contract.py`` holds the ONNX contract (domain, op type, attributes) without importing torch.
``triton.py`` is the one-launch Triton kernel (:func:`dynamic_conv_triton`; CUDA, or CPU under
``TRITON_INTERPRET=1``) that ``trt.py``'s TensorRT plugin compiles to PTX.
"""

from inpaint._lazy import lazy_attributes
from inpaint.ops.dynamic_conv.contract import DOMAIN, OP_TYPE, DynamicConvSpec

_TORCH_FORMS = {
    "dynamic_conv": "inpaint.ops.dynamic_conv.factorized",
    "factorize_generator": "inpaint.ops.dynamic_conv.factorized",
    "dynamic_conv_windows": "inpaint.ops.dynamic_conv.reference",
    "dynamic_conv_triton": "inpaint.ops.dynamic_conv.triton",
}


__getattr__ = lazy_attributes(__name__, _TORCH_FORMS)  # torch-importing modules load on first use


__all__ = ["DOMAIN", "OP_TYPE", "DynamicConvSpec", "dynamic_conv", "dynamic_conv_triton", "dynamic_conv_windows", "factorize_generator"]
