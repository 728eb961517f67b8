"""A fixed validation set: the same crops and the same masks at every evaluation and on every
machine, with masks spread over hole-ratio bins so metrics can be reported per bin."""

from __future__ import annotations

import numpy as np
import torch

from inpaint.trainer.data.images import ImageFolder, center_crop
from inpaint.trainer.data.masks import FreeFormMasks


class FixedValidationSet(torch.utils.data.Dataset):
    """``n_per_image`` deterministic samples of every photo of ``images``.

    Item ``i`` is photo ``i // n_per_image``, its short side resized to ``size`` and its centre
    ``size x size`` square cut out, with a :class:`FreeFormMasks` mask drawn from
    ``default_rng([seed, i])`` whose hole ratio lies in bin ``i % n_bins``. The bins split
    ``hole_range`` into ``n_bins`` equal intervals; the defaults give the 0.1-wide bins of the
    partial-convolution evaluation protocol (Liu et al., ECCV 2018: (0, 0.1], ..., (0.5, 0.6]).

    Items: ``{"image": (3, size, size) float32 in [0, 1] RGB,
    "mask": (1, size, size) float32 in {0, 1}, 1 = hole}``, as :class:`InpaintDataset`.
    """

    def __init__(self, images: ImageFolder, size: int, n_per_image: int = 1, seed: int = 0,
                 hole_range: tuple[float, float] = (0.0, 0.6), n_bins: int = 6) -> None:
        if n_per_image < 1 or n_bins < 1:
            raise ValueError(f"need n_per_image >= 1 and n_bins >= 1, got {n_per_image}, {n_bins}")
        self.images = images
        self.size = int(size)
        self.n_per_image = int(n_per_image)
        self.seed = int(seed)
        edges = np.linspace(hole_range[0], hole_range[1], n_bins + 1)
        #: ``(lo, hi)`` hole-ratio range of each bin
        self.bins = [(round(float(lo), 12), round(float(hi), 12)) for lo, hi in zip(edges[:-1], edges[1:])]
        self._masks = [FreeFormMasks(self.size, b) for b in self.bins]

    def __len__(self) -> int:
        return len(self.images) * self.n_per_image

    def bin_of(self, i: int) -> int:
        """Index into :attr:`bins` of item ``i``'s hole ratio."""
        return i % len(self.bins)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        if not 0 <= i < len(self):
            raise IndexError(f"item {i} out of range for {len(self)} validation items")
        image = center_crop(self.images.load(i // self.n_per_image), self.size)  # (S, S, 3) uint8
        mask = self._masks[self.bin_of(i)](np.random.default_rng([self.seed, i]))  # (S, S) float32
        return {
            "image": torch.from_numpy(image.transpose(2, 0, 1).copy()).float().div_(255.0),
            "mask": torch.from_numpy(mask[None].copy()),
        }
