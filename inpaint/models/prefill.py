"""Push-pull fill: a smooth first guess of the hole from the known pixels, in standard ops.

The pyramid "push-pull" interpolation of scattered data (Gortler et al., "The Lumigraph", SIGGRAPH 1996):
*push* sums colours and known-pixel counts over 2x2 cells level by level; *pull* goes back up, and at each
level a cell keeps its own mean colour in proportion to how much of it is known (count clipped to 1) and
takes the rest from the bilinearly upsampled coarser estimate. A pixel that is known keeps its value exactly;
a hole pixel gets the average of its nearest known neighbourhood, blended smoothly across scales.

Used by MADF's ``prefill="pushpull"`` (see :mod:`inpaint.models.madf`): the network then starts from this
fill instead of zeros and predicts a correction. Only avg-pool, bilinear resize and element-wise ops, so the
ONNX export and any runtime need nothing extra.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def push_pull_fill(image: torch.Tensor, known: torch.Tensor, levels: int) -> torch.Tensor:
    """Fill the holes of ``image`` from its known pixels.

    Args:
        image: (B, C, H, W) any range; values under holes are ignored.
        known: (B, 1, H, W) float, 1 = known, 0 = hole.
        levels: number of 2x2 reductions; H and W must be multiples of ``2**levels``. A cell of the coarsest
            level with no known pixel takes the mean of the whole image's known pixels (0 if none is known).
    Returns:
        (B, C, H, W): ``image`` where known, the fill elsewhere.
    """
    h, w = image.shape[-2:]
    if h % 2**levels or w % 2**levels:
        raise ValueError(f"push_pull_fill: {h}x{w} is not a multiple of 2**{levels}")
    colour, count = image * known, known
    pyramid = []
    for _ in range(levels):  # push: sums over 2x2 cells (avg-pool x 4)
        pyramid.append((colour, count))
        colour, count = F.avg_pool2d(colour, 2) * 4, F.avg_pool2d(count, 2) * 4
    total = count.sum((2, 3), keepdim=True)
    global_mean = colour.sum((2, 3), keepdim=True) / total.clamp(min=1)
    estimate = torch.where(count > 0, colour / count.clamp(min=1e-6), global_mean)
    for colour, count in reversed(pyramid):  # pull: own mean where known, upsampled estimate for the rest
        up = F.interpolate(estimate, scale_factor=2.0, mode="bilinear", align_corners=False)
        weight = count.clamp(max=1)
        estimate = colour / count.clamp(min=1) * weight + up * (1 - weight)
    return torch.where(known > 0.5, image, estimate)
