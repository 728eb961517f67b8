"""Load the FAR authors' released MAE weights (github ewrfcas/MAE-FAR).

Two files hold them:

- the MAE pre-training checkpoint (``MAE/util/misc.py:save_model``): ``{'model': state_dict, 'optimizer',
  'epoch', 'scaler', 'args': argparse.Namespace}``; ``train.py`` / ``test.py`` read ``checkpoint['model']``;
- the FAR (PyTorch Lightning) checkpoint: ``{'state_dict': {...}, ...}`` where the MAE's keys carry the
  ``mae.`` prefix next to ``acr.*`` / ``D.*`` (``test.py --load_pl``).

Their state dict is ``MaskedAutoencoderViT.state_dict()``, whose names are exactly this package's
:class:`~inpaint.models.mae.MAEViT` names (same module tree), except the two fixed sin-cos position embeddings:
``pos_embed`` / ``decoder_pos_embed`` are (frozen) parameters in their files and non-persistent buffers here.
They are therefore checked against the values this package computes (they must agree to 1e-5, otherwise the
file is for another grid or width) and then dropped. A ``module.`` prefix (DDP) is stripped. Keys of their
partial-mask fine-tuning variant (``decoder_patch_embed.*``, ``alpha``), which FAR does not use, are rejected.

Files are read with ``torch.load(weights_only=True)``; ``argparse.Namespace`` (their ``args`` entry) is the one
class allowed besides tensors and plain containers.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import torch

from inpaint.errors import CheckpointError
from inpaint.models.remap import strict_remap

#: their fixed position embeddings: file key -> this package's buffer name
_FIXED = {"pos_embed": "pos_embed", "decoder_pos_embed": "decoder_pos_embed"}
#: tolerance on their stored sin-cos tables (float32 rounding of the same float64 numbers)
POS_EMBED_TOLERANCE = 1e-5


def read_authors_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The MAE state dict of an authors' file (pre-training checkpoint, FAR Lightning checkpoint, or a bare
    state dict), read weights-only. Lightning files give their ``mae.*`` entries with the prefix removed."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file; give the path of the authors' MAE checkpoint (.pth)")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError for unsafe globals, RuntimeError for broken files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a weights-only torch checkpoint ({first}); refusing to unpickle it") from exc
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a dict ('model' or 'state_dict' of tensors), got {type(obj).__name__}")
    if "model" in obj:
        state = obj["model"]
    elif "state_dict" in obj:
        state = obj["state_dict"]
        if isinstance(state, dict) and any(k.startswith("mae.") for k in state):
            state = {k[len("mae."):]: v for k, v in state.items() if k.startswith("mae.")}
    else:
        state = obj
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a dict with a 'model' (or Lightning 'state_dict') state dict of tensors")
    return state


def convert_authors_state_dict(state: dict[str, torch.Tensor], net: torch.nn.Module, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Map an authors' ``MaskedAutoencoderViT`` state dict onto ``net`` (a :class:`~inpaint.models.mae.MAEViT`), strictly.

    Raises CheckpointError naming unexpected, missing or mis-shaped keys, or position embeddings that differ.
    """
    def items():
        for key, value in state.items():
            key = re.sub(r"^module\.", "", key)
            if key in _FIXED:  # their frozen sin-cos tables: checked here, not loaded (buffers in this package)
                ours = getattr(net, _FIXED[key])
                if tuple(value.shape) != tuple(ours.shape):
                    raise CheckpointError(f"{source}: '{key}' has shape {tuple(value.shape)}, this model's is {tuple(ours.shape)}; the file is for another input size or width")
                err = (value.float() - ours.float().cpu()).abs().max().item()
                if err > POS_EMBED_TOLERANCE:
                    raise CheckpointError(f"{source}: '{key}' differs from the fixed sin-cos table by {err:.3g}; not a fixed-position-embedding MAE of this layout")
                continue
            yield key, key, value

    partial = any(re.sub(r"^module\.", "", k).startswith(("decoder_patch_embed.", "alpha")) for k in state)
    hint = " (their partial-mask fine-tuned MAE, which FAR does not use)" if partial else ""
    return strict_remap(items(), net.state_dict(), source, "MAE", hint)


def load_authors_checkpoint(path: str | Path, preset: str = "mae", **overrides):
    """Build preset ``preset`` and load an authors' MAE checkpoint into it. Returns the model in eval mode."""
    from inpaint.models import build_model

    model = build_model(preset, **overrides)
    model.net.load_state_dict(convert_authors_state_dict(read_authors_state_dict(path), model.net, str(path)))
    return model.eval()
