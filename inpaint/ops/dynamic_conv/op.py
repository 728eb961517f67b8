"""The dispatcher the models call: factorised form normally, one ``inpaint::MaskAwareDynamicConv``
node inside :func:`inpaint.ops.mode.export_mode` (custom_nodes=True) during ONNX export.

The node also carries ``plugin_namespace="inpaint"`` and ``aot=1`` for TensorRT's ONNX parser
(:data:`inpaint.ops.trt_plugins.TRT_NODE_ATTRIBUTES`); ONNX Runtime's kernel ignores undeclared attributes."""

from __future__ import annotations

import torch

from inpaint.ops.dynamic_conv.contract import DOMAIN, OP_TYPE, VERSION
from inpaint.ops.dynamic_conv.factorized import dynamic_conv
from inpaint.ops.mode import emitting_custom_nodes
from inpaint.ops.trt_plugins import TRT_NODE_ATTRIBUTES


def mask_aware_dynamic_conv(
    e: torch.Tensor, m: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, kernel_size: int, stride: int, pad: int
) -> torch.Tensor:
    """Same contract as :func:`~inpaint.ops.dynamic_conv.factorized.dynamic_conv` (no activation)."""
    if not emitting_custom_nodes():
        return dynamic_conv(e, m, weight, bias, kernel_size, stride, pad)
    c_out = weight.shape[0] // (e.shape[1] * kernel_size * kernel_size)
    return torch.onnx.ops.symbolic(
        f"{DOMAIN}::{OP_TYPE}",
        (e, m, weight, bias),
        # the op's attributes first, in the plugin's declared order (TensorRT passes them to aot_impl positionally)
        {"kernel_size": kernel_size, "stride": stride, "pad": pad, **TRT_NODE_ATTRIBUTES},
        dtype=e.dtype,
        shape=(e.shape[0], c_out, m.shape[2], m.shape[3]),
        version=VERSION,
    )
