"""Training data: photos, hole masks, deterministic batching and a fixed validation set.

Every random decision derives from keys, never from global random state: the sampler
(:class:`StepBatches`) gives each sample a seed from ``(seed, step, slot)``, and
:class:`InpaintDataset` builds the sample from that seed alone. Training therefore resumes
exactly after an interruption, with any number of DataLoader workers and DDP ranks::

    images = ImageFolder("photos/", min_size=256)
    data = InpaintDataset(images, FreeFormMasks(256), size=256)
    batches = StepBatches(len(images), batch_size=8, seed=0, start_step=step, rank=r, world_size=w)
    loader = torch.utils.data.DataLoader(data, batch_sampler=batches, num_workers=4)
"""

from __future__ import annotations

from inpaint.trainer.data.images import IMAGE_EXTENSIONS, ImageFolder, center_crop, random_crop
from inpaint.trainer.data.masks import FreeFormMasks, MaskFolder, MaskSource, MixedMasks
from inpaint.trainer.data.sampler import Key, StepBatches, sample_seed

__all__ = [
    "IMAGE_EXTENSIONS",
    "FixedValidationSet",
    "FreeFormMasks",
    "ImageFolder",
    "InpaintDataset",
    "Key",
    "MaskFolder",
    "MaskSource",
    "MixedMasks",
    "StepBatches",
    "center_crop",
    "random_crop",
    "sample_seed",
]

_TORCH = {"InpaintDataset": "inpaint.trainer.data.dataset", "FixedValidationSet": "inpaint.trainer.data.validation"}


def __getattr__(name: str):
    """The torch Datasets load on first use: photos and masks (numpy + cv2) stay usable without torch."""
    if name in _TORCH:
        import importlib

        return getattr(importlib.import_module(_TORCH[name]), name)
    raise AttributeError(name)
