"""The operator's contract, readable without torch (the runtime and the TensorRT plugin use it).

ONNX node ``inpaint::MaskedAttentionAggregate`` (FAR's prior-attention aggregation, Cao et al. ECCV 2022;
the authors' ``GroupConvAttention`` without its residual ``x + alpha * y``, which belongs to the model)::

    inputs   x       (N, C, H, W)   float32  features (FAR: the ACR generator's 512 channels at 1/8 of the image)
             scores  (N, L, L)      float32  token attention, row = query token, column = key token
                                             (FAR: the MAE decoder's head- and layer-averaged softmax, rows sum to 1)
    output   y       (N, C, H, W)   float32
    attrs    rate    ints [r_h, r_w]: H = g * r_h, W = g * r_w with g = sqrt(L) the token grid side
                     (FAR: g = 16, the MAE's 256 / 16 patches per side). An entry 0 means "derived from the
                     input shape" (dynamic-shape exports, where H and W are not known when the graph is written).

Maths (``reference.py`` computes it as the authors do; ``matmul.py`` exactly, without unfold):
token ``k = (i, j)`` of the g x g grid owns the (2 r_h) x (2 r_w) patch ``V_k`` of ``x`` whose top-left corner is
at row ``i * r_h - p_h``, column ``j * r_w - p_w`` with ``p = ceil(r / 2)`` per axis, reading outside ``x`` by
edge replication. Every query token ``q = (i, j)`` pastes ``sum_k scores[q, k] * V_k`` back at the same place
(stride r, so interior pixels are covered by 2 x 2 patches); overlapping contributions are summed and the
sum is divided by 4. Border rule (the authors' transposed-conv padding): the pasted canvas is cropped by
``p`` on each side; for odd ``r`` that leaves ``g*r - 1`` rows (columns), and the last one is repeated.

ONNX Runtime's Python custom ops (onnxruntime-extensions 0.15.2) cannot read an ``ints`` attribute
("Attribute name and type don't match" at session creation), so its kernel declares none and takes the
rate from the shapes, which determine it.
"""

from __future__ import annotations

import math

DOMAIN = "inpaint"
OP_TYPE = "MaskedAttentionAggregate"
VERSION = 1

#: token grid side of FAR's MAE: 256 x 256 input, 16 x 16 patches -> 16 tokens per side (MAE/models_mae.py)
FAR_TOKEN_GRID = 16
#: the authors divide the pasted sum by 4: interior pixels lie under 2 x 2 overlapping patches (attention.py)
OVERLAP_DIVISOR = 4.0


def grid_side(num_tokens: int) -> int:
    """Side g of the square token grid for L = g * g tokens (FAR: L = 256, g = 16).

    Raises:
        ValueError: L is not a perfect square.
    """
    g = math.isqrt(int(num_tokens))
    if g * g != int(num_tokens) or g < 1:
        raise ValueError(f"scores hold {num_tokens} tokens, which is not a square token grid (expected g*g, FAR: 256)")
    return g


def patch_padding(rate: int) -> int:
    """Patch offset p = ceil(r / 2) of one axis: the authors' ``rate // 2 + (rate % 2)``."""
    return (rate + 1) // 2


def resolve_rate(height, width, num_tokens: int, rate=None):
    """The rate (r_h, r_w) for features of size (H, W) and L tokens, checked against ``rate`` when given.

    Args:
        height, width: H, W of ``x`` (ints; symbolic sizes work when no explicit rate is passed).
        num_tokens: L, a perfect square g * g.
        rate: None, an int (both axes) or a pair (r_h, r_w); an entry 0 means "derive from the shape".
    Returns:
        (r_h, r_w) with H = g * r_h and W = g * r_w.
    Raises:
        ValueError: H or W is not a positive multiple of g, or differs from g times the given rate.
    """
    g = grid_side(num_tokens)
    if height % g != 0 or width % g != 0 or height < g or width < g:
        raise ValueError(f"features are {height}x{width}, expected multiples of the token grid side {g} (FAR: H/8 = 16 * r)")
    derived = (height // g, width // g)
    if rate is None:
        return derived
    pair = (rate, rate) if isinstance(rate, int) else tuple(rate)
    if len(pair) != 2:
        raise ValueError(f"rate must be an int or a pair (r_h, r_w), got {rate!r}")
    for given, have in zip(pair, derived):
        if given != 0 and given != have:
            raise ValueError(f"rate {tuple(pair)} does not fit features of {height}x{width} with a {g}x{g} token grid (rate {derived})")
    return derived


def onnx_rate_attribute(rate) -> list[int]:
    """The node's ``rate`` attribute for a resolved rate: ints where known, 0 for sizes only known at run time."""
    return [r if isinstance(r, int) else 0 for r in rate]
