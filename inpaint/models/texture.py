"""The texture stage's step 1 as a torch module that exports to ONNX: the graph a GPU runs after the network.

    stage = TextureStage(strength=0.7, sigma=1.0, ...)       # inpaint.export.texture builds it with the runtime's values
    out = stage(image, mask, fill)                          # (N, 3, H, W) each, H and W multiples of 2 * grid

The same computation as the NumPy stage the runtime runs (:func:`inpaint.runtime.texture.stage.texture_fill`,
whose docstrings give the method): contextual attention between cells of the network's fill (4 x 4 area samples
per patch plus the texture's log energy, pushed-pulled into the hole), top-1 with PatchMatch-style propagation,
and the paste through the project's ``MaskedAttentionAggregate`` operator
(:func:`inpaint.ops.attention_aggregate.op.masked_attention_aggregate`: one ``inpaint`` node per call in plugin
graphs, a matrix product in standard ones) with one-hot scores: ``mean = op(R, S_w) / op(1, S)``, the copies'
energy ``op(|R|^2, S_w^2) / op(1, S)``, the energy-restoring gain from their Gaussian-blurred ratio.

Contract: image, fill (N, 3, H, W) float in [0, 1]; mask (N, 1, H, W) float, 1 = hole; H = 2 g a, W = 2 g b (g =
``grid``, 32), so that cells and half-cells are whole pixels (the runtime pads). Output (N, 3, H, W): ``fill``
outside the hole, structure + strength x texture inside, unclipped.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from inpaint.ops.attention_aggregate.op import masked_attention_aggregate

__all__ = ["TextureStage", "gaussian_kernel"]


def gaussian_kernel(sigma: float) -> torch.Tensor:
    """1-D Gaussian as ``cv2.getGaussianKernel`` builds it for float images: size ``round(8 sigma + 1) | 1``."""
    size = int(round(sigma * 8 + 1)) | 1
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    k = torch.exp(-(x * x) / (2 * sigma * sigma))
    return (k / k.sum()).to(torch.float32)


def _blur(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian, borders reflected without repeating the edge (OpenCV's BORDER_REFLECT_101)."""
    c, r = x.shape[1], kernel.numel() // 2
    kh = kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1)
    kv = kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1)
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), kh, groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), kv, groups=c)


def _windows(half: torch.Tensor) -> torch.Tensor:
    """(N, C, 2g, 2g) half-cell grid -> (N, L, C * 16): each cell's 4 x 4 half-cells (edge-padded by one)."""
    n = half.shape[0]
    padded = F.pad(half, (1, 1, 1, 1), mode="replicate")
    return F.unfold(padded, kernel_size=4, stride=2).transpose(1, 2).reshape(n, -1, half.shape[1] * 16)


def _push_pull(values: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """:func:`inpaint.runtime.baselines.push_pull_fill` on a (N, 1, S, S) grid, S a power of two."""
    pyramid = []
    colour, count = values * known, known
    while colour.shape[-1] >= 2:
        pyramid.append((colour, count))
        colour, count = F.avg_pool2d(colour, 2) * 4, F.avg_pool2d(count, 2) * 4
    estimate = torch.where(count > 0, colour / count.clamp_min(1e-12), colour.sum((2, 3), keepdim=True)
                           / count.sum((2, 3), keepdim=True).clamp_min(1))
    for colour, count in reversed(pyramid):
        up = F.interpolate(estimate, size=colour.shape[-2:], mode="bilinear", align_corners=False)
        a = count.clamp(max=1)
        estimate = colour / count.clamp_min(1) * a + up * (1 - a)
    return torch.where(known > 0, values, estimate)


class TextureStage(nn.Module):
    """Step 1 of the texture stage (module docstring). Every parameter mirrors a constant of
    :mod:`inpaint.runtime.texture` (``match.py``: grid, key_margin, energy_weight, energy_floor, tame_ratio,
    coherence_rounds, coherence_tolerance; ``stage.py``: strength, sigma)."""

    def __init__(self, *, strength: float, sigma: float, grid: int, key_margin: int, energy_weight: float,
                 energy_floor: float, tame_ratio: float, coherence_rounds: int, coherence_tolerance: float,
                 max_gain: float):
        super().__init__()
        self.strength, self.grid, self.key_margin = float(strength), int(grid), int(key_margin)
        self.energy_weight, self.energy_floor, self.tame_ratio = float(energy_weight), float(energy_floor), float(tame_ratio)
        self.rounds, self.tolerance, self.max_gain = int(coherence_rounds), float(coherence_tolerance), float(max_gain)
        self.register_buffer("lowpass", gaussian_kernel(sigma), persistent=False)

    def forward(self, image: torch.Tensor, mask: torch.Tensor, fill: torch.Tensor) -> torch.Tensor:
        g = self.grid
        n, _, h, w = image.shape
        rh, rw = h // g, w // g
        hole = (mask > 0.5).to(image.dtype)
        known = 1 - hole
        num, den = _blur(image * known, self.lowpass), _blur(known, self.lowpass)
        low = torch.where(den > 1e-6, num / den.clamp_min(1e-6), torch.zeros_like(num))
        residual = (image - low) * known
        structure = _blur(fill, self.lowpass)

        # matching features: 4 x 4 half-cell means of the fill, plus the texture's log energy
        half = (rh // 2, rw // 2)
        feats = _windows(F.avg_pool2d(fill, half))
        energy = (residual * residual).sum(1, keepdim=True)
        k_half, e_half = F.avg_pool2d(known, half), F.avg_pool2d(energy, half)
        full = (k_half > 1 - 1e-6).to(image.dtype)
        per_pixel = torch.where(k_half > 0, e_half / k_half.clamp_min(1e-12), torch.zeros_like(e_half))
        cell_energy = _windows(_push_pull(per_pixel, full)).mean(-1)
        log_e = torch.log(cell_energy + self.energy_floor)  # (N, L)
        feats = torch.cat([feats, self.energy_weight * log_e.unsqueeze(-1)], -1)

        side = 2 * self.key_margin + 1
        near = F.max_pool2d(hole, side, stride=1, padding=self.key_margin)
        valid = _windows(F.max_pool2d(near, half)).amax(-1) == 0  # (N, L) keys: patch clear of the hole
        query = _windows(F.max_pool2d(hole, half)).amax(-1) > 0  # (N, L) queries: patch touches the hole

        sq = (feats * feats).sum(-1)
        dist = (sq.unsqueeze(2) + sq.unsqueeze(1) - 2 * feats @ feats.transpose(1, 2)).clamp_min(0)
        big = torch.finfo(dist.dtype).max
        dist = torch.where(valid.unsqueeze(1), dist, torch.full_like(dist, big))
        best = dist.argmin(-1)  # (N, L)
        found = query & valid.any(-1, keepdim=True)
        key = torch.where(found, best, torch.full_like(best, -1))
        key = self._coherent(key, dist, valid, found)

        safe = key.clamp_min(0)
        excess = torch.gather(log_e, 1, safe) - log_e - math.log(self.tame_ratio)
        weight = torch.where(found, torch.exp(-0.5 * excess.clamp_min(0)), torch.zeros_like(excess))
        one_hot = F.one_hot(safe, g * g).to(image.dtype) * found.unsqueeze(-1).to(image.dtype)  # (N, L, L)
        scores = one_hot * weight.unsqueeze(-1)

        count = masked_attention_aggregate(torch.ones_like(mask), one_hot)  # copies / 4
        total = masked_attention_aggregate(residual, scores)
        squares = masked_attention_aggregate((residual * residual).sum(1, keepdim=True), scores * scores)
        mean = torch.where(count > 0, total / count.clamp_min(1e-12), torch.zeros_like(total))
        each = torch.where(count > 0, squares / count.clamp_min(1e-12), torch.zeros_like(squares))
        gauss = gaussian_kernel(0.5 * min(rh, rw)).to(image.device)
        blend = _blur((mean * mean).sum(1, keepdim=True), gauss)
        gain = torch.where(blend > 1e-12, torch.sqrt(_blur(each, gauss) / blend.clamp_min(1e-12)), torch.ones_like(blend))
        texture = mean * gain.clamp(1.0, self.max_gain)

        textured = torch.where(hole > 0, structure + self.strength * texture, fill)
        anything = (key >= 0).any(-1).view(n, 1, 1, 1)
        return torch.where(anything, textured, fill)

    def _coherent(self, key: torch.Tensor, dist: torch.Tensor, valid: torch.Tensor, found: torch.Tensor) -> torch.Tensor:
        """:func:`inpaint.runtime.texture.match._coherent` on the full (N, L, L) distances."""
        g = self.grid
        idx = torch.arange(g * g, device=key.device)
        qi, qj = idx // g, idx % g
        best = torch.gather(dist, 2, key.clamp_min(0).unsqueeze(-1)).squeeze(-1)
        limit = best * (1.0 + self.tolerance) + 1e-6
        for _ in range(self.rounds):
            current = key
            choice, cost = current, torch.full_like(best, float("inf"))
            for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                ni, nj = qi + di, qj + dj
                inside = (ni >= 0) & (ni < g) & (nj >= 0) & (nj < g)
                neighbour = (ni.clamp(0, g - 1) * g + nj.clamp(0, g - 1)).expand_as(current)
                kn = torch.where(inside, torch.gather(current, 1, neighbour), torch.full_like(current, -1))
                ki, kj = kn.clamp_min(0) // g, kn.clamp_min(0) % g
                ci, cj = ki - di, kj - dj
                ok = (kn >= 0) & (ci >= 0) & (ci < g) & (cj >= 0) & (cj < g)
                cand = torch.where(ok, ci * g + cj, torch.zeros_like(ci))
                ok = ok & torch.gather(valid, 1, cand) & found
                c = torch.where(ok, torch.gather(dist, 2, cand.unsqueeze(-1)).squeeze(-1), torch.full_like(cost, float("inf")))
                better = ok & (c <= limit) & (c < cost)
                choice = torch.where(better, cand, choice)
                cost = torch.where(better, c, cost)
            key = torch.where(found, choice, key)
        return key
