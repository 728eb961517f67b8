"""The torch Dataset of training samples (see the package docstring)."""

from __future__ import annotations

import numpy as np
import torch

from inpaint.trainer.data.images import ImageFolder, random_crop
from inpaint.trainer.data.masks import MaskSource


class InpaintDataset(torch.utils.data.Dataset):
    """Training samples: a random crop of a photo and a random hole mask.

    Indexed by the keys of :class:`StepBatches`: ``dataset[(item_index, sample_seed)]`` returns

    - ``"image"``: ``(3, size, size) float32 in [0, 1]`` RGB, a :func:`random_crop` of photo
      ``item_index`` (random position, left-right flip, optional down-scale ``scale_range``);
    - ``"mask"``: ``(1, size, size) float32 in {0, 1}``, 1 = hole, from ``masks``.

    The crop uses ``default_rng([sample_seed, 0])`` and the mask ``default_rng([sample_seed, 1])``,
    so changing one never changes the other, and the same key always gives the same tensors.
    """

    def __init__(self, images: ImageFolder, masks: MaskSource, size: int,
                 scale_range: tuple[float, float] = (1.0, 1.0)) -> None:
        self.images = images
        self.masks = masks
        self.size = int(size)
        self.scale_range = scale_range

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]:
        index, seed = key
        crop_rng = np.random.default_rng([seed, 0])
        mask_rng = np.random.default_rng([seed, 1])
        image = random_crop(self.images.load(index), self.size, crop_rng, self.scale_range)
        mask = self.masks(mask_rng)
        if mask.shape != (self.size, self.size):
            raise ValueError(f"mask source {type(self.masks).__name__} made a {mask.shape} mask, "
                             f"expected ({self.size}, {self.size})")
        return {
            "image": torch.from_numpy(image.transpose(2, 0, 1).copy()).float().div_(255.0),
            "mask": torch.from_numpy(mask[None].astype(np.float32)),
        }
