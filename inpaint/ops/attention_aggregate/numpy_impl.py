"""NumPy form of the masked attention aggregation (no torch), for ONNX Runtime's custom-op kernel.

A block form (``matmul.py`` folds the same overlap-add into one paste matrix): the edge-padded features cut
into a (g+1) x (g+1) grid of r_h x r_w blocks, one batched matrix product of the scores with the four shifted
block grids, an overlap-add of the four pasted block grids, the transposed convolution's crop (p per side,
last row/column repeated for odd r) and the division by 4. Peak memory about ``N * L * 4 * C * r_h * r_w``
floats twice (shifted blocks and their product), i.e. 8x the feature map, never the per-token patch copies of
the reference.
"""

from __future__ import annotations

import numpy as np

from inpaint.ops.attention_aggregate.contract import OVERLAP_DIVISOR, grid_side, patch_padding, resolve_rate


def masked_attention_aggregate_numpy(x: np.ndarray, scores: np.ndarray, rate: int | tuple[int, int] | None = None) -> np.ndarray:
    """Masked attention aggregation in NumPy. Same contract as the ONNX node (``contract.py``).

    Args:
        x: (N, C, H, W) float32 features, H = g * r_h, W = g * r_w (FAR: g = 16, C = 512 at 1/8 of the image).
        scores: (N, L, L) float32, L = g * g; row = query token, column = key token.
        rate: (r_h, r_w), an int, or None (entries 0 or None: derived from the shapes).
    Returns:
        (N, C, H, W) float32, C-contiguous.
    Raises:
        ValueError: shapes that do not fit (see ``contract.resolve_rate``).
    """
    x = np.asarray(x, dtype=np.float32)
    scores = np.asarray(scores, dtype=np.float32)
    if x.ndim != 4 or scores.ndim != 3 or scores.shape[0] != x.shape[0] or scores.shape[1] != scores.shape[2]:
        raise ValueError(f"x must be (N, C, H, W) and scores (N, L, L), got {x.shape} and {scores.shape}")
    n, c, h, w = x.shape
    g = grid_side(scores.shape[-1])
    rh, rw = resolve_rate(h, w, scores.shape[-1], rate)
    ph, pw = patch_padding(rh), patch_padding(rw)

    padded = np.pad(x, ((0, 0), (0, 0), (ph, rh - ph), (pw, rw - pw)), mode="edge")  # (N, C, (g+1)rh, (g+1)rw)
    blocks = padded.reshape(n, c, g + 1, rh, g + 1, rw).transpose(0, 2, 4, 1, 3, 5)  # (N, g+1, g+1, C, rh, rw)
    shifted = np.concatenate(
        [blocks[:, dy : dy + g, dx : dx + g].reshape(n, g * g, c * rh * rw) for dy in (0, 1) for dx in (0, 1)], axis=2
    )  # (N, L, 4*C*rh*rw)
    pasted = np.matmul(scores, shifted).reshape(n, g, g, 4, c, rh, rw)  # query q's four blocks

    canvas = np.zeros((n, g + 1, g + 1, c, rh, rw), dtype=np.float32)
    for dy in (0, 1):
        for dx in (0, 1):
            canvas[:, dy : dy + g, dx : dx + g] += pasted[:, :, :, 2 * dy + dx]
    canvas = canvas.transpose(0, 3, 1, 4, 2, 5).reshape(n, c, (g + 1) * rh, (g + 1) * rw)

    y = canvas[:, :, ph : (g + 1) * rh - ph, pw : (g + 1) * rw - pw]
    y = np.pad(y, ((0, 0), (0, 0), (0, 2 * ph - rh), (0, 2 * pw - rw)), mode="edge")
    return np.ascontiguousarray(y / np.float32(OVERLAP_DIVISOR), dtype=np.float32)
