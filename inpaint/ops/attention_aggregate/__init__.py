"""MaskedAttentionAggregate: FAR's prior-attention aggregation (Cao, Dong, Fu, ECCV 2022, Sec. 3.2, "Prior Attentions").

Every token's (2 r_h) x (2 r_w) feature patch is pasted back at each query token's place, weighted by the
token-attention scores (the MAE's averaged attention), and overlapping pastes are averaged. Two exact forms:

- :func:`masked_attention_aggregate_reference` (``reference.py``): unfold + grouped transposed convolution,
  as the authors' ``GroupConvAttention`` computes it; the ground truth.
- :func:`masked_attention_aggregate_matmul` (``matmul.py``): block grid laid out channels-last and ONE matrix
  product with a paste matrix built from the scores (the overlap-add folded into it); no unfold and no
  data-dependent convolution weights. The form the models run.

:func:`masked_attention_aggregate` (``op.py``) is the dispatcher the models call; ``triton.py`` is the one-launch
Triton kernel (:func:`masked_attention_aggregate_triton`) that ``trt.py``'s TensorRT plugin compiles to PTX. ``contract.py`` holds the
ONNX contract (domain, op type, attributes, shapes) without importing torch.
"""

from inpaint._lazy import lazy_attributes
from inpaint.ops.attention_aggregate.contract import DOMAIN, FAR_TOKEN_GRID, OP_TYPE, grid_side, resolve_rate

_TORCH_FORMS = {
    "masked_attention_aggregate": "inpaint.ops.attention_aggregate.op",
    "masked_attention_aggregate_matmul": "inpaint.ops.attention_aggregate.matmul",
    "masked_attention_aggregate_reference": "inpaint.ops.attention_aggregate.reference",
    "masked_attention_aggregate_triton": "inpaint.ops.attention_aggregate.triton",
}


__getattr__ = lazy_attributes(__name__, _TORCH_FORMS)  # torch-importing modules load on first use


__all__ = [
    "DOMAIN",
    "FAR_TOKEN_GRID",
    "OP_TYPE",
    "grid_side",
    "masked_attention_aggregate",
    "masked_attention_aggregate_matmul",
    "masked_attention_aggregate_reference",
    "masked_attention_aggregate_triton",
    "resolve_rate",
]
