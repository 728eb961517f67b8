"""This package's checkpoint format: one safetensors file, the model config in its metadata.

Metadata (all strings, as safetensors requires):
    ``format``         "inpaint.model/1"
    ``config``         JSON of ``model.config`` ({"family", "preset", "args"}), rebuilds the model
    ``version``        package version that wrote it
    any extra keys the writer adds (``step``, ``source`` ...)

No pickle anywhere: tensors and JSON only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from inpaint._hashing import file_sha256  # noqa: F401  (re-exported)
from inpaint import __version__
from inpaint._atomic import atomic_path
from inpaint.errors import CheckpointError
from inpaint.models.registry import model_from_config

FORMAT = "inpaint.model/1"


def _safetensors():
    from inpaint._lazy import require

    return require("safetensors.torch")


def save_model(model: torch.nn.Module, path: str | Path, half: bool = False, **extra: Any) -> Path:
    """Write ``model``'s state dict and config to ``path`` atomically. ``extra`` values are stored as strings.

    ``half``: store floating-point tensors as float16 (half the size; :func:`load_model` loads them into the
    float32 model, so round the weights to float16 first when another export must match it exactly)."""
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    meta = {"format": FORMAT, "config": json.dumps(model.config), "version": __version__}
    meta.update({k: str(v) for k, v in extra.items()})
    with atomic_path(path) as tmp:
        _safetensors().save_file(state, str(tmp), metadata=meta)
    return Path(path)


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata of a checkpoint, without loading its tensors."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint; give a .safetensors file written by 'inpaint train' or 'inpaint convert'")
    try:
        with _safetensors().safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
    except Exception as exc:
        raise CheckpointError(f"{path}: not a safetensors file ({exc}); give a checkpoint written by inpaint") from exc
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an inpaint model checkpoint (metadata format {meta.get('format')!r}); convert it with 'inpaint convert'")
    return meta


def load_model(path: str | Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild the model from the metadata and load the weights strictly. Returns it in eval mode."""
    meta = read_metadata(path)
    model = model_from_config(json.loads(meta["config"]))
    state = _safetensors().load_file(str(path), device=str(device))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit the model in its metadata ({str(exc).splitlines()[0]})") from exc
    return model.to(device).eval()
