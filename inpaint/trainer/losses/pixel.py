"""Pixel-space loss pieces shared by the trainers: region-weighted L1, compositing, total variation.

Written as the MADF authors' ``loss.py`` writes them (``nn.L1Loss()(w * out, w * gt)``: the mean runs over
every element, the weighted-out ones count as zeros), so MADF's terms come out as theirs.
Masks here are weights (B, 1, H, W) broadcast over channels; each argument's name says which region is 1.
"""

from __future__ import annotations

import torch


def masked_l1(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """mean(|weight * pred - weight * target|) over all elements (not over the weighted region).

    pred, target: (B, C, H, W) float; weight: (B, 1, H, W) or (B, C, H, W), usually 0/1. Returns a scalar.
    """
    return torch.mean(torch.abs(weight * pred - weight * target))


def hole_valid_l1(pred: torch.Tensor, target: torch.Tensor, hole: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(hole L1, valid L1): :func:`masked_l1` on the hole and on the known region.

    pred, target: (B, C, H, W) float, same space; hole: (B, 1, H, W) float, 1 = hole, 0 = known.
    """
    return masked_l1(pred, target, hole), masked_l1(pred, target, 1 - hole)


def composite(pred: torch.Tensor, image: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """known * image + (1 - known) * pred: the prediction only where pixels are missing.

    pred, image: (B, C, H, W) same space; known: (B, 1, H, W) float, 1 = known, 0 = hole.
    """
    return known * image + (1 - known) * pred


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """mean|horizontal neighbour difference| + mean|vertical neighbour difference| (anisotropic, L1).

    image: (B, C, H, W) float, H, W >= 2. Returns a scalar (the MADF authors' ``total_variation_loss``).
    """
    dx = torch.abs(image[..., :, :-1] - image[..., :, 1:])
    dy = torch.abs(image[..., :-1, :] - image[..., 1:, :])
    return dx.mean() + dy.mean()
