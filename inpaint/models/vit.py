"""Vision Transformer pieces (no timm): patch embedding, fixed 2-D sin-cos position embedding,
pre-norm transformer block whose attention takes an additive key mask and can return its probabilities.

Module and parameter names follow timm's ViT (``patch_embed.proj``, ``norm1``, ``attn.qkv``, ``attn.proj``,
``norm2``, ``mlp.fc1``, ``mlp.fc2``), which is also the layout of the FAR authors' MAE (their
``MAE/vision_transformer.py`` + ``timm.models.vision_transformer.PatchEmbed/Mlp``), so their weights load by name.

Key masking: a key is removed from every query's softmax by adding :data:`MASK_BIAS` to its logit. The
bias is large but finite, so it is safe in float16 (max 65504), and ``exp(MASK_BIAS)`` underflows to exactly
0 in float32 / float16 whenever the logit gap is below about 9,900, so removed keys get exactly zero weight.
A row whose keys are ALL removed would otherwise degenerate (the authors use ``-inf`` there and get NaN);
:func:`key_mask_bias` gives such a sample no bias at all (plain softmax over every key).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: additive logit bias of a removed key (finite: fp16-safe; see the module docstring)
MASK_BIAS = -1.0e4


def key_mask_bias(removed: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Additive attention bias from a per-token key mask.

    Args:
        removed: (B, N) bool or float, 1 / True = remove this token from the keys.
    Returns:
        (B, 1, 1, N) ``dtype``: ``MASK_BIAS`` at removed keys, 0 elsewhere; all 0 for a sample whose
        every key is removed (the all-masked guard: that sample attends over all keys instead of NaN).
    """
    removed = removed.bool()
    keep_some = ~removed.all(dim=1, keepdim=True)  # (B, 1)
    bias = (removed & keep_some).to(dtype) * MASK_BIAS
    return bias[:, None, None, :]


def sincos_pos_embed_2d(dim: int, grid: int) -> torch.Tensor:
    """Fixed 2-D sin-cos position embedding, (grid*grid, dim) float32, tokens in raster order.

    As MAE's ``get_2d_sincos_pos_embed`` (the FAR authors' ``MAE/util/pos_embed.py``, from MoCo v3): the
    first dim/2 channels encode the column (x) coordinate, the last dim/2 the row (y); each half is
    ``[sin(pos * w_k), cos(pos * w_k)]`` with ``w_k = 10000 ** (-k / (dim/4))``, k = 0 .. dim/4 - 1,
    computed in float64 as their NumPy code does, then rounded to float32.
    """
    if dim % 4:
        raise ValueError(f"sin-cos position embedding needs a width divisible by 4, got {dim}")
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim / 4))  # (dim/4,)
    coords = torch.arange(grid, dtype=torch.float64)
    y, x = torch.meshgrid(coords, coords, indexing="ij")  # (grid, grid) each

    def one_axis(pos: torch.Tensor) -> torch.Tensor:
        out = pos.reshape(-1, 1) * omega  # (grid*grid, dim/4)
        return torch.cat([out.sin(), out.cos()], 1)  # (grid*grid, dim/2)

    return torch.cat([one_axis(x), one_axis(y)], 1).float()


class PatchEmbed(nn.Module):
    """Non-overlapping patches -> tokens: (B, C, H, W) -> (B, H/p * W/p, dim), raster order."""

    def __init__(self, patch: int, in_ch: int, dim: int):
        super().__init__()
        self.patch = patch
        self.proj = nn.Conv2d(in_ch, dim, patch, patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, dim, h, w) -> (B, h*w, dim)


class Attention(nn.Module):
    """Multi-head self-attention with an additive key bias.

    forward(x, key_bias=None, scores_bias=None, return_scores=False):
        x: (B, N, dim).
        key_bias: (B, 1, 1, N) additive logit bias of the attention itself (see :func:`key_mask_bias`), or None.
        scores_bias: bias of the returned probabilities only (the FAR decoder attends over all keys but
            reports scores with fully-masked keys removed); None = the same as ``key_bias``.
        return_scores: also return ``softmax(q k^T * head_dim**-0.5 + scores_bias)`` averaged over heads.
    Returns (out (B, N, dim), scores (B, N, N) float32 with rows summing to 1, or None).
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(
        self,
        x: torch.Tensor,
        key_bias: torch.Tensor | None = None,
        scores_bias: torch.Tensor | None = None,
        return_scores: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (B, heads, N, head_dim) each
        scores = None
        if not return_scores:
            mask = None if key_bias is None else key_bias.to(q.dtype)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=self.scale)
        else:
            logits = (q @ k.transpose(-2, -1)) * self.scale  # (B, heads, N, N)
            attn_logits = logits if key_bias is None else logits + key_bias
            probs = attn_logits.float().softmax(-1)
            out = probs.to(v.dtype) @ v
            if scores_bias is not None:
                probs = (logits + scores_bias).float().softmax(-1)
            scores = probs.mean(1)  # mean over heads: (B, N, N)
        out = out.transpose(1, 2).reshape(b, n, c)
        return self.proj(out), scores


class Mlp(nn.Module):
    """fc1 -> GELU (exact erf form, timm's default) -> fc2."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm1(x)); x + mlp(norm2(x)). LayerNorm ``eps`` as given
    (MAE: 1e-6). forward takes the :class:`Attention` keywords and returns (x, scores or None)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, eps: float = 1e-6):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(
        self,
        x: torch.Tensor,
        key_bias: torch.Tensor | None = None,
        scores_bias: torch.Tensor | None = None,
        return_scores: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        a, scores = self.attn(self.norm1(x), key_bias, scores_bias, return_scores)
        x = x + a
        return x + self.mlp(self.norm2(x)), scores


def init_vit_weights(module: nn.Module) -> None:
    """MAE's initialisation (official JAX ViT): xavier-uniform Linear weights, zero biases, unit LayerNorm.
    Use with ``model.apply``."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def init_patch_embed(embed: PatchEmbed) -> None:
    """Patch projection initialised like a Linear layer (xavier-uniform on the flattened kernel), as MAE does."""
    w = embed.proj.weight.data
    nn.init.xavier_uniform_(w.view(w.shape[0], -1))


__all__ = [
    "MASK_BIAS",
    "Attention",
    "Block",
    "Mlp",
    "PatchEmbed",
    "init_patch_embed",
    "init_vit_weights",
    "key_mask_bias",
    "sincos_pos_embed_2d",
]
