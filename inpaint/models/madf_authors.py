"""Load the MADF authors' released checkpoints (github MADF-inpainting/Pytorch-MADF).

Their files are ``torch.save`` dicts ``{'n_iter', 'model': state_dict, 'optimizer'}``; the state dict comes
from ``DataParallel(FullModel(net, vgg))`` so its keys start with ``module.model.`` (the network) and
``module.extractor.`` (the frozen VGG16 of the loss, dropped here). Their ``ConvWithFilter`` builds a
BatchNorm that never runs (``self.bn == "batchnorm"`` compares a module with a string), so the
``enc_conv_<l>.bn.*`` keys (1,248 parameters for L = 7) are dropped too. Every other key must map onto
this package's :class:`~inpaint.models.madf.MADFNet`, with the same shape.

Files are read with ``torch.load(weights_only=True)``: tensors and plain containers only, never
arbitrary unpickling.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from inpaint.errors import CheckpointError
from inpaint.models.remap import strict_remap

_DROP = (re.compile(r"^extractor\."), re.compile(r"^enc_conv_\d+\.bn\."))


def _rename(key: str, levels: int) -> str | None:
    """Authors' key (prefix stripped) -> this package's ``MADFNet`` key, or None if it has no counterpart."""
    rules = [
        (r"filter_gen_(\d+)\.conv\.0\.(.*)", lambda l, p: f"encoder.{int(l) - 1}.mask_conv.{p}"),
        (r"filter_gen_(\d+)\.conv1\.0\.(.*)", lambda l, p: f"encoder.{int(l) - 1}.kernel_gen.{p}"),
        (r"enc_up_(\d+)\.0\.(.*)", lambda l, p: f"encoder.{int(l) - 1}.up.{p}"),
        (r"deconv_(\d+)\.0\.(.*)", lambda i, p: f"recovery.{levels - int(i)}.deconv.{p}"),
        (r"deconv_(\d+)\.1\.(.*)", lambda i, p: f"recovery.{levels - int(i)}.bn.{p}"),
        (r"att_conv_(\d+)\.conv\.0\.(.*)", lambda i, p: f"recovery.{levels - int(i)}.fuse.{p}"),
        (r"dec_ref(\d+)_1\.(.*)", lambda r, p: f"refine.{r}.head.{p}"),
        (r"dec_ref(\d+)_(\d+)\.deconv\.(.*)", lambda r, i, p: f"refine.{r}.levels.{levels - int(i)}.deconv.{p}"),
        (r"dec_ref(\d+)_(\d+)\.bn\.batch_norm\.(.*)", lambda r, i, p: f"refine.{r}.levels.{levels - int(i)}.pn.norm.{p}"),
        (r"dec_ref(\d+)_(\d+)\.bn\.mlp_shared\.0\.(.*)", lambda r, i, p: f"refine.{r}.levels.{levels - int(i)}.pn.shared.{p}"),
        (r"dec_ref(\d+)_(\d+)\.bn\.mlp_scale\.(.*)", lambda r, i, p: f"refine.{r}.levels.{levels - int(i)}.pn.gamma.{p}"),
        (r"dec_ref(\d+)_(\d+)\.bn\.mlp_bias\.(.*)", lambda r, i, p: f"refine.{r}.levels.{levels - int(i)}.pn.beta.{p}"),
    ]
    for pattern, target in rules:
        match = re.fullmatch(pattern, key)
        if match:
            return target(*match.groups())
    return None


def read_authors_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read the ``model`` state dict of an authors' checkpoint with weights-only loading.

    Accepts their full checkpoint dict or a bare state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file; give the path of an authors' MADF .pth checkpoint")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError or RuntimeError for unsafe / broken files
        raise CheckpointError(f"{path}: not a weights-only torch checkpoint ({type(exc).__name__}); refusing to unpickle it") from exc
    state = obj.get("model", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a dict with a 'model' state dict of tensors")
    return state


def convert_authors_state_dict(state: dict[str, torch.Tensor], net: torch.nn.Module, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Map an authors' state dict onto ``net`` (a :class:`MADFNet`), strictly.

    Raises CheckpointError naming every unexpected, missing or mis-shaped key.
    """
    levels = len(net.encoder)

    def items():
        for key, value in state.items():
            key = re.sub(r"^(module\.)?(model\.)?", "", key)
            if not any(p.match(key) for p in _DROP):
                yield key, _rename(key, levels), value

    return strict_remap(items(), net.state_dict(), source, "MADF")


def load_authors_checkpoint(path: str | Path, preset: str = "madf", **overrides):
    """Build preset ``preset`` and load an authors' checkpoint into it. Returns the model in eval mode."""
    from inpaint.models import build_model

    model = build_model(preset, **overrides)
    model.net.load_state_dict(convert_authors_state_dict(read_authors_state_dict(path), model.net, str(path)))
    return model.eval()
