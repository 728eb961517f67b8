"""The dispatcher the models call: the matmul form normally, one ``inpaint::MaskedAttentionAggregate`` node
inside :func:`inpaint.ops.mode.export_mode` (custom_nodes=True) during ONNX export.

The node also carries ``plugin_namespace="inpaint"`` and ``aot=1`` for TensorRT's ONNX parser
(:data:`inpaint.ops.trt_plugins.TRT_NODE_ATTRIBUTES`); ONNX Runtime's kernel ignores undeclared attributes."""

from __future__ import annotations

import torch

from inpaint.ops.attention_aggregate.contract import DOMAIN, OP_TYPE, VERSION, onnx_rate_attribute, resolve_rate
from inpaint.ops.attention_aggregate.matmul import masked_attention_aggregate_matmul
from inpaint.ops.mode import emitting_custom_nodes
from inpaint.ops.trt_plugins import TRT_NODE_ATTRIBUTES


def masked_attention_aggregate(x: torch.Tensor, scores: torch.Tensor, rate: int | tuple[int, int] | None = None) -> torch.Tensor:
    """FAR's prior-attention aggregation without the residual (the model adds ``x + alpha * y``).

    Args:
        x: (N, C, H, W) float features, H = g * r_h, W = g * r_w (FAR: 512 channels at H/8, g = 16).
        scores: (N, L, L) float token attention, L = g * g, row = query, column = key (rows sum to 1 in FAR).
        rate: (r_h, r_w), an int, or None to derive it from the shapes; models pass None so that a
            dynamic-shape export keeps H and W free (the node's attribute then reads 0 for run-time sizes).
    Returns:
        (N, C, H, W), same dtype as ``x``. Contract in ``contract.py``.
    """
    if not emitting_custom_nodes():
        return masked_attention_aggregate_matmul(x, scores, rate)
    resolved = resolve_rate(x.shape[2], x.shape[3], scores.shape[-1], rate)
    return torch.onnx.ops.symbolic(
        f"{DOMAIN}::{OP_TYPE}",
        (x, scores),
        {"rate": onnx_rate_attribute(resolved), **TRT_NODE_ATTRIBUTES},  # the op's attribute first (see trt.py)
        dtype=x.dtype,
        shape=x.shape,
        version=VERSION,
    )
