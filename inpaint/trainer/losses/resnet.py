"""Frozen dilated ResNet50: the ADE20K segmentation encoder behind FAR's (and LaMa's) high-receptive-field loss.

The architecture is the encoder ``resnet50dilated`` of CSAIL's semantic-segmentation-pytorch, as the FAR
authors vendor it in ``ACR/networks/ade20k/{resnet,base}.py`` (LaMa's ``saicinpainting/training/modules/ade20k``
is the same code):

- a "deep stem" instead of torchvision's single 7x7 conv: conv3x3(3->64, stride 2) -> BN -> ReLU ->
  conv3x3(64->64) -> BN -> ReLU -> conv3x3(64->128) -> BN -> ReLU -> max-pool 3x3 stride 2 pad 1;
- Bottleneck blocks (expansion 4, stride on the 3x3 conv) with (3, 4, 6, 3) blocks in ``layer1..layer4``,
  first block of each layer with a 1x1 conv + BN projection ``downsample``; no bias in any conv;
- dilation with output stride 8 (``ResnetDilated(dilate_scale=8)``'s ``_nostride_dilate``): every stride-2 conv of
  ``layer3`` / ``layer4`` gets stride 1; in ``layer3`` the first block's 3x3 conv gets dilation 1, the others
  dilation 2; in ``layer4`` the first block's 3x3 conv gets dilation 2, the others 4 (padding = dilation);
- no average pool / classifier: ``forward`` returns the outputs of ``layer1..layer4``
  (``return_feature_maps=True``), at strides 4, 8, 8, 8 with 256, 512, 1024, 2048 channels.

Weights: the authors load ``ade20k/ade20k-resnet50dilated-ppm_deepsup/encoder_epoch_20.pth`` (CSAIL's released
ADE20K encoder; ``ModelBuilder.get_encoder``), a plain ``state_dict`` of that encoder with the key names
``conv1.weight``, ``bn1.{weight,bias,running_mean,running_var}``, ... ``layer4.2.bn3.running_var`` and
``layerN.0.downsample.{0,1}.*``; this module has exactly those names. :func:`load_resnet50_weights` reads such a
``.pth`` with ``torch.load(weights_only=True)`` (nothing but tensors is unpickled) or a ``.safetensors`` with the same
keys, and checks the keys strictly (``num_batches_tracked`` may be present or absent: PyTorch < 0.4.1 did not write
it). The authors load with ``strict=False``; here a file that does not fit is an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from inpaint.errors import CheckpointError, MissingDependencyError

#: blocks per layer of ResNet50 (He et al. 2016, table 1)
RESNET50_BLOCKS = (3, 4, 6, 3)
#: bottleneck widths of layer1..layer4 (the block's output is 4x this: Bottleneck.expansion)
WIDTHS = (64, 128, 256, 512)
EXPANSION = 4
#: stem output channels of the deep stem (``ResNet.inplanes = 128`` in ade20k/resnet.py)
STEM_CHANNELS = 128
#: (dilation of the first block's 3x3 conv, dilation of the other blocks' 3x3 convs) per layer, output stride 8
DILATIONS = ((1, 1), (1, 1), (1, 2), (2, 4))
#: stride of each layer's first block in the dilated network (layer3 / layer4 lose their stride 2)
STRIDES = (1, 2, 1, 1)
#: the file name the authors / LaMa load (under ``ade20k/ade20k-resnet50dilated-ppm_deepsup/``)
AUTHORS_FILE = "encoder_epoch_20.pth"

_HINT = f"give the ADE20K resnet50dilated encoder weights ({AUTHORS_FILE} of CSAIL's ade20k-resnet50dilated-ppm_deepsup, or a .safetensors with the same keys)"


def _conv3x3(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)


class Bottleneck(nn.Module):
    """1x1 (cin->w) -> BN -> ReLU -> 3x3 (w->w, stride, dilation) -> BN -> ReLU -> 1x1 (w->4w) -> BN, + shortcut, ReLU."""

    def __init__(self, cin: int, width: int, stride: int = 1, dilation: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv3x3(width, width, stride, dilation)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * EXPANSION, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * EXPANSION)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


def _layer(cin: int, width: int, blocks: int, stride: int, dilations: tuple[int, int]) -> nn.Sequential:
    downsample = None
    if stride != 1 or cin != width * EXPANSION:
        downsample = nn.Sequential(nn.Conv2d(cin, width * EXPANSION, 1, stride=stride, bias=False), nn.BatchNorm2d(width * EXPANSION))
    first, rest = dilations
    layers = [Bottleneck(cin, width, stride, first, downsample)]
    layers += [Bottleneck(width * EXPANSION, width, 1, rest) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class ResNet50Dilated(nn.Module):
    """The ADE20K ``resnet50dilated`` encoder (module docstring). Built with PyTorch's default initialisation;
    meaningful only with loaded weights (:class:`FrozenResNet50Dilated`).

    forward(x): x (B, 3, H, W) float, ImageNet-normalised RGB (``(rgb01 - mean) / std``). Returns the four
    feature maps [(B, 256, H/4, W/4), (B, 512, H/8, W/8), (B, 1024, H/8, W/8), (B, 2048, H/8, W/8)]
    (sizes rounded up as the strided convs do).
    """

    def __init__(self, blocks: tuple[int, int, int, int] = RESNET50_BLOCKS):
        super().__init__()
        self.conv1 = _conv3x3(3, 64, stride=2)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = _conv3x3(64, 64)
        self.bn2 = nn.BatchNorm2d(64)
        self.conv3 = _conv3x3(64, STEM_CHANNELS)
        self.bn3 = nn.BatchNorm2d(STEM_CHANNELS)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        cin = STEM_CHANNELS
        for i, (n, width, stride, dil) in enumerate(zip(blocks, WIDTHS, STRIDES, DILATIONS), start=1):
            setattr(self, f"layer{i}", _layer(cin, width, n, stride, dil))
            cin = width * EXPANSION

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        x = self.relu(self.bn3(self.conv3(x)))
        x = self.maxpool(x)
        features = []
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            features.append(x)
        return features


def _is_counter(key: str) -> bool:
    return key.endswith(".num_batches_tracked")


def read_resnet50_state(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``.pth`` / ``.pt`` (``torch.load(weights_only=True)``) or ``.safetensors`` file.

    A ``.pth`` holding ``{"state_dict": {...}}`` or ``{"model": {...}}`` is unwrapped; nothing else is.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file; {_HINT}")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError as exc:
            raise MissingDependencyError(f"reading {path} needs safetensors; pip install 'inpaint-toolkit[train]'") from exc
        try:
            return dict(load_file(str(path)))
        except Exception as exc:
            raise CheckpointError(f"{path}: not a readable safetensors file ({exc}); {_HINT}") from exc
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: not a weights-only PyTorch state dict ({str(exc).splitlines()[0]}); {_HINT}") from exc
    for wrapper in ("state_dict", "model"):
        if isinstance(state, Mapping) and wrapper in state and isinstance(state[wrapper], Mapping):
            state = state[wrapper]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: not a state dict of tensors; {_HINT}")
    return dict(state)


def load_resnet50_weights(module: ResNet50Dilated, path: str | Path) -> None:
    """Load ``path`` into ``module`` with strict key and shape checks (``num_batches_tracked`` optional)."""
    state = read_resnet50_state(path)
    own = module.state_dict()
    expected = {k for k in own if not _is_counter(k)}
    given = {k for k in state if not _is_counter(k)}
    missing, unexpected = sorted(expected - given), sorted(given - expected)
    if missing or unexpected:
        parts = [f"{len(missing)} missing (e.g. {missing[0]})" if missing else "", f"{len(unexpected)} unexpected (e.g. {unexpected[0]})" if unexpected else ""]
        raise CheckpointError(f"{path}: keys do not fit the resnet50dilated encoder: {', '.join(p for p in parts if p)}; {_HINT}")
    for k in sorted(expected):
        if tuple(state[k].shape) != tuple(own[k].shape):
            raise CheckpointError(f"{path}: {k} has shape {tuple(state[k].shape)}, the encoder needs {tuple(own[k].shape)}; {_HINT}")
    full = {k: state[k].to(own[k].dtype) for k in expected}
    full.update({k: state.get(k, own[k]).to(own[k].dtype) for k in own if _is_counter(k)})
    module.load_state_dict(full, strict=True)


class FrozenResNet50Dilated(ResNet50Dilated):
    """:class:`ResNet50Dilated` with weights from ``weights`` (``None``: keep the random initialisation, for tests),
    every parameter frozen (``requires_grad=False``) and always in eval mode (BatchNorm uses its running statistics,
    ``train()`` is a no-op), as the authors' ``ResNetPL`` holds it. Gradients still flow to the *input*."""

    def __init__(self, weights: str | Path | None = None, blocks: tuple[int, int, int, int] = RESNET50_BLOCKS):
        super().__init__(blocks)
        if weights is not None:
            load_resnet50_weights(self, weights)
        self.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> "FrozenResNet50Dilated":
        return super().train(False)
