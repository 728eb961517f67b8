"""The one interface every model of this package has.

``forward(image, mask)``:
    image: (B, 3, H, W) float32 RGB in [0, 1]
    mask:  (B, 1, H, W) float32, 1 = hole (the region to remove), 0 = known
    returns (B, 3, H, W) float32 in [0, 1], composited: known pixels are exactly the input's.

Any H and W: the input is padded (reflect) to the network's ``stride`` multiple and cropped back.
Each family converts to its own normalisation and mask convention inside ``predict``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
import torch.nn.functional as F
from torch import nn


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad (B, C, H, W) on the bottom and right to multiples of ``multiple``.

    Reflect padding where the image is large enough (PyTorch needs pad < size), otherwise reflect
    repeatedly: each step pads by at most size-1, so tiny inputs still get a mirrored border.
    """
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    while ph or pw:
        sh, sw = min(ph, x.shape[-2] - 1), min(pw, x.shape[-1] - 1)
        if sh == 0 and sw == 0:  # a 1-pixel dimension cannot be reflected
            return F.pad(x, (0, pw, 0, ph), mode="replicate")
        x = F.pad(x, (0, sw, 0, sh), mode="reflect")
        ph, pw = ph - sh, pw - sw
    return x


class InpaintModel(nn.Module, ABC):
    """Base class: padding, compositing and the config record; subclasses implement ``predict``."""

    #: H and W of ``predict``'s inputs must be multiples of this.
    stride: int = 1
    #: the size the model was designed / trained at (square), for the export metadata.
    train_size: int = 256
    config: dict

    @abstractmethod
    def predict(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Network output before compositing. Same arguments as ``forward`` with H, W multiples of stride;
        returns (B, 3, H, W) in [0, 1]."""

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        hole = mask > 0.5
        out = self.predict(pad_to_multiple(image, self.stride), pad_to_multiple(hole.to(image.dtype), self.stride))
        out = out[..., :h, :w].clamp(0, 1)
        return torch.where(hole, out, image)
