"""The PatchGAN discriminator FAR trains its ACR against (training only: not part of any exported model).

Architecture of the FAR authors' ``ACR/networks/discriminators.py`` ``NLayerDiscriminator`` (LaMa's
``NLayerDiscriminator`` with ``n_layers=4``, ``ndf=64``, ``norm_layer=BatchNorm2d``; Isola et al. 2017's PatchGAN):

    conv1  Conv 4x4 s2 p2 (3 -> 64) + LeakyReLU(0.2)                    (no norm)
    conv2  Conv 4x4 s2 p2 (64 -> 128)  -> bn2 BatchNorm -> LeakyReLU(0.2)
    conv3  Conv 4x4 s2 p2 (128 -> 256) -> bn3 -> LeakyReLU(0.2)
    conv4  Conv 4x4 s2 p2 (256 -> 512) -> bn4 -> LeakyReLU(0.2)
    conv5  Conv 4x4 s1 p2 (512 -> 512) -> bn5 -> LeakyReLU(0.2)
    conv6  Conv 4x4 s1 p2 (512 -> 1)                                      (logits, no activation)

Every conv has a bias (the authors pass none of ``bias=False``). Padding is ``ceil((4 - 1) / 2) = 2``, so a
256x256 image gives 129, 65, 33, 17, 18 and finally 19x19 logits. Parameter keys equal the authors'
(``conv1.0.weight``, ``conv2.weight``, ``bn2.running_mean`` ... ``conv6.bias``), so their discriminator's state dict
loads. The default configuration has :data:`DEFAULT_PARAMETERS` = 6,962,369 parameters (DESIGN.md: "about 7 M").
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: kernel size of every conv (the authors' ``kw = 4``)
KERNEL = 4
#: LeakyReLU slope of the authors' discriminator
SLOPE = 0.2
#: parameter count of ``PatchDiscriminator()`` (conv weights + biases + BatchNorm affine), checked by the tests
DEFAULT_PARAMETERS = 6_962_369


class PatchDiscriminator(nn.Module):
    """PatchGAN with ``n_layers`` stride-2 convs, one stride-1 conv and a 1-channel logit conv (module docstring).

    ``n_layers=4, ndf=64, max_channels=512`` (defaults) is the FAR authors' discriminator; the others exist for
    small tests. Channels: ``ndf * 2**i`` capped at ``max_channels`` for conv i+1, the stride-1 conv keeps the width.

    forward(x): x (B, 3, H, W) float, RGB in [0, 1] (the space the ACR outputs and the photos are in).
    Returns (logits (B, 1, h, w) float, features [conv1 .. conv{n_layers+1} outputs after activation]).
    """

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 4, max_channels: int = 512):
        super().__init__()
        self.n_layers = n_layers
        pad = math.ceil((KERNEL - 1) / 2)
        self.conv1 = nn.Sequential(nn.Conv2d(in_channels, ndf, KERNEL, stride=2, padding=pad), nn.LeakyReLU(SLOPE))
        cin = ndf
        for i in range(2, n_layers + 2):  # conv2 .. conv{n+1}: n-1 strided convs, then one stride-1 conv
            cout = min(ndf * 2 ** (i - 1), max_channels)
            stride = 2 if i <= n_layers else 1
            setattr(self, f"conv{i}", nn.Conv2d(cin, cout, KERNEL, stride=stride, padding=pad))
            setattr(self, f"bn{i}", nn.BatchNorm2d(cout))
            cin = cout
        setattr(self, f"conv{n_layers + 2}", nn.Conv2d(cin, 1, KERNEL, stride=1, padding=pad))
        self.act = nn.LeakyReLU(SLOPE)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.conv1(x)
        features = [x]
        for i in range(2, self.n_layers + 2):
            x = self.act(getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(x)))
            features.append(x)
        return getattr(self, f"conv{self.n_layers + 2}")(x), features


def count_parameters(module: nn.Module) -> int:
    """Number of parameters (trainable or not; buffers such as BatchNorm running statistics excluded)."""
    return sum(p.numel() for p in module.parameters())
