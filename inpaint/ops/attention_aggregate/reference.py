"""Reference form of the masked attention aggregation: unfold + grouped transposed convolution, the way the
authors' ``GroupConvAttention`` (ACR/networks/attention.py) computes it, generalised to r_h != r_w.

Each token's (2 r_h) x (2 r_w) patch is cut from the edge-padded features with ``Tensor.unfold`` (stride r),
the patches become the weights of a transposed convolution (one group per image), and the transposed
scores are its input: output channel c at query q's place gets ``sum_k scores[q, k] * V_k[c]``. Holds
``L * C * 4 r_h r_w`` floats of patches per image and data-dependent convolution weights, which is why the
models and the exported graphs use ``matmul.py``; this is the ground truth the tests compare against.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from inpaint.ops.attention_aggregate.contract import OVERLAP_DIVISOR, grid_side, patch_padding, resolve_rate


def masked_attention_aggregate_reference(x: torch.Tensor, scores: torch.Tensor, rate: int | tuple[int, int] | None = None) -> torch.Tensor:
    """Paste every token's feature patch back, weighted by the token attention, overlap-averaged.

    Args:
        x: (N, C, H, W) float features, H = g * r_h, W = g * r_w (FAR: C = 512 at 1/8 of the image, g = 16).
        scores: (N, L, L) float, L = g * g; row = query token, column = key token (FAR: rows sum to 1).
        rate: (r_h, r_w), an int for both, or None to derive it from the shapes (see ``contract.py``).
    Returns:
        (N, C, H, W), same dtype as ``x``; the residual ``x + alpha * y`` is the caller's.
    """
    n, c, h, w = x.shape
    g = grid_side(scores.shape[-1])
    rh, rw = resolve_rate(h, w, scores.shape[-1], rate)
    ph, pw = patch_padding(rh), patch_padding(rw)

    padded = F.pad(x, (pw, pw, ph, ph), mode="replicate")  # the authors' ReplicationPad2d(p)
    value = padded.permute(0, 2, 3, 1).unfold(1, 2 * rh, rh).unfold(2, 2 * rw, rw)  # (N, nh, nw, C, 2rh, 2rw)
    # nh = g + 1 when r_h = 1 (p = 1 pads one row too many); the authors drop that last window
    value = value[:, :g, :g].reshape(n * g * g, c, 2 * rh, 2 * rw)  # (N*L, C, 2rh, 2rw), token k = i*g + j

    # transposed scores as the input: channel (b, k) holds scores[b, q, k] laid out on the query grid
    queries = scores.transpose(1, 2).reshape(1, n * g * g, g, g)  # (1, N*L, g, g)
    y = F.conv_transpose2d(queries, value, stride=(rh, rw), padding=(ph, pw), groups=n) / OVERLAP_DIVISOR
    # (1, N*C, g*r - (2p - r), ...): for odd r one row (column) short; the authors repeat the last one
    y = F.pad(y, (0, 2 * pw - rw, 0, 2 * ph - rh), mode="replicate")
    return y.reshape(n, c, h, w)
