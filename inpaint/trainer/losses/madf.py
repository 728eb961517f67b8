"""The MADF losses with incremental supervision (Zhu et al., IEEE TIP 2021), as the authors' ``loss.py``,
``data_parallel.py`` and ``train.py`` (github MADF-inpainting/Pytorch-MADF) compute them.

Everything lives in the network's space: ImageNet-normalised RGB; mask M (B, 1, H, W), 1 = KNOWN.
For outputs [recovery, refine1, refine2] and comp_i = M * gt + (1 - M) * out_i:

- hole  = sum over ALL outputs of L1((1 - M) * out_i, (1 - M) * gt)
- valid = sum over ALL outputs of L1(M * out_i, M * gt)
- prc   = sum over outputs[1:] and j in pool1..3 of L1(vgg(out_i)_j, vgg(gt)_j) + L1(vgg(comp_i)_j, vgg(gt)_j)
- style = the same over outputs[2:] with Gram matrices of the features
- tv    = sum over outputs[2:] of TV(comp_i)

One output: every term on it; two outputs: prc, style and tv on outputs[1:] (the authors' branches).
Weights: :class:`LossWeights` (their ``train.py`` defaults).

Differences from the authors' code, on purpose:
- the style term uses refine2's own features. Their loop indexes ``feats[i - start]`` with the style
  ``start`` (2) into a list built from the perceptual ``start`` (1), so with three outputs it actually takes
  refine1's Gram matrices while TV takes refine2's composite; the paper and DESIGN.md say "last output".
- comp_i uses M * gt where they use M * input with input = M * gt: identical for 0/1 masks.
- Gram matrices are computed in float32 with autocast off (fp16 overflows on VGG pool3 sums).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from inpaint.trainer.losses.pixel import composite, masked_l1, total_variation
from inpaint.trainer.losses.vgg import VGG16Features


@dataclass(frozen=True)
class LossWeights:
    """Weights of the MADF terms (the authors' ``train.py`` argument defaults)."""

    valid: float = 1.0
    hole: float = 6.0
    prc: float = 0.05
    style: float = 120.0
    tv: float = 0.1


def gram_matrix(feat: torch.Tensor) -> torch.Tensor:
    """f @ f^T / (C * H * W) with f = feat viewed as (B, C, H*W).

    feat: (B, C, H, W) float. Returns (B, C, C) float32, computed with autocast off.
    """
    b, c, h, w = feat.shape
    with torch.autocast(device_type=feat.device.type, enabled=False):
        f = feat.float().reshape(b, c, h * w)
        return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def supervised_indices(n_outputs: int) -> tuple[range, range, range]:
    """(pixel, perceptual, style-and-tv) output indices under incremental supervision.

    n = 1: all on output 0; n = 2: pixel on both, the rest on output 1; n >= 3: pixel on all,
    perceptual on outputs[1:], style and TV on outputs[2:].
    """
    if n_outputs < 1:
        raise ValueError("MADFLoss needs at least one output")
    prc_start = 0 if n_outputs == 1 else 1
    style_start = min(n_outputs - 1, 2)
    return range(n_outputs), range(prc_start, n_outputs), range(style_start, n_outputs)


class MADFLoss(nn.Module):
    """valid + hole + perceptual + style + TV, with incremental supervision over the MADF outputs.

    Args:
        vgg: the frozen feature extractor; None turns the perceptual and style terms off
            (valid, hole and TV remain).
        weights: term weights.

    ``forward(outputs, gt, known)``:
        outputs: list of (B, 3, H, W) float tensors, [recovery, refine1, refine2] (any length >= 1),
            ImageNet-normalised RGB (the network's space), not composited.
        gt: (B, 3, H, W) float, the ground truth in the same space.
        known: (B, 1, H, W) float, 1 = KNOWN, 0 = hole (MADF's convention; the package's hole mask is 1 - known).
    Returns (total, terms): ``total`` the weighted sum (scalar tensor, differentiable), ``terms`` the
    UNWEIGHTED terms as python floats, keys "valid", "hole", "tv", "prc" and "style" (only with a VGG), "total".
    VGG(gt) is computed once per call, without grad; the features of all supervised outputs and their
    composites are computed in one batched VGG call.
    """

    def __init__(self, vgg: VGG16Features | None, weights: LossWeights | None = None):
        super().__init__()
        self.vgg = vgg
        self.weights = weights if weights is not None else LossWeights()

    def forward(
        self, outputs: list[torch.Tensor] | tuple[torch.Tensor, ...], gt: torch.Tensor, known: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        outputs = list(outputs)
        pixel_idx, prc_idx, style_idx = supervised_indices(len(outputs))
        b, _, h, w = gt.shape
        for i, out in enumerate(outputs):
            if out.shape != gt.shape:
                raise ValueError(f"output {i} has shape {tuple(out.shape)}, gt {tuple(gt.shape)}")
        if known.shape != (b, 1, h, w):
            raise ValueError(f"known must be (B, 1, H, W) = {(b, 1, h, w)}, got {tuple(known.shape)}")
        known = known.to(gt.dtype)
        hole = 1 - known

        terms: dict[str, torch.Tensor] = {
            "valid": sum(masked_l1(outputs[i], gt, known) for i in pixel_idx),
            "hole": sum(masked_l1(outputs[i], gt, hole) for i in pixel_idx),
        }
        comps = {i: composite(outputs[i], gt, known) for i in prc_idx}
        terms["tv"] = sum(total_variation(comps[i]) for i in style_idx)

        if self.vgg is not None:
            with torch.no_grad():
                feat_gt = self.vgg(gt)
            gram_gt = [gram_matrix(f) for f in feat_gt]
            # one VGG call for [out_i, comp_i for i in prc_idx], split back per tensor
            preds = [t for i in prc_idx for t in (outputs[i], comps[i])]
            feats = [f.split(b) for f in self.vgg(torch.cat(preds))]  # feats[j][k]: level j of preds[k]
            prc, style = gt.new_zeros(()), gt.new_zeros(())
            for k in range(len(preds)):
                i = prc_idx[k // 2]
                for j, fg in enumerate(feat_gt):
                    prc = prc + F.l1_loss(feats[j][k], fg)
                    if i in style_idx:
                        style = style + F.l1_loss(gram_matrix(feats[j][k]), gram_gt[j])
            terms["prc"], terms["style"] = prc, style

        weights = asdict(self.weights)
        total = sum(weights[name] * value for name, value in terms.items())
        names = [*terms, "total"]
        values = torch.stack([v.detach().float() for v in [*terms.values(), total]]).tolist()  # one device sync
        return total, dict(zip(names, values))
