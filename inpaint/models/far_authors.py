"""Load the FAR authors' released ACR checkpoints (github ewrfcas/MAE-FAR) into :class:`~inpaint.models.far.FAR`.

Their ACR is ``ACRModel`` = ``G`` (``FFCGenerator``) + ``GCs`` (``GCEncoder``). Two file layouts exist, both
``torch.save`` dicts, read here with ``torch.load(weights_only=True)`` (tensors and plain containers only):

* the released PyTorch-Lightning checkpoint (``test.py --load_pl``): ``{"state_dict": {...}, ...}`` whose keys
  are ``mae.<MAE key>`` (the frozen MAE), ``acr.G.*`` / ``acr.GCs.*`` (the ACR), and, from training,
  ``D.*`` (discriminator), ``loss_resnet_pl.*`` (perceptual-loss network) and, when trained with ``--use_ema``,
  ``acr_ema.G.*`` / ``acr_ema.GCs.*``. ``test.py`` loads the ``acr.`` weights; ``ema=True`` picks ``acr_ema.``;
* their trainer's separate generator file (``test.py`` without ``--load_pl``, default ``G_last.pth``):
  ``{"generator": G state dict, "gc_encoder": GCs state dict}``.

Every ACR key must map onto this package's :class:`~inpaint.models.acr.ACRGenerator` with the same shape, and
every key of ours must be covered (strict). The MAE part of a Lightning checkpoint, or a separate MAE file,
goes through the MAE's own authors'-checkpoint mapping (:mod:`inpaint.models.mae_authors`), strict as well.

Authors' key -> ours (``G.middle.<i>.*`` keeps LaMa's FFC names):
    G.conv1 / G.bn1               stem / stem_bn
    G.conv{2,3,4} / G.bn{2,3,4}   down.{0,1,2}.conv / .bn
    G.middle.<i>                  blocks.<i>
    G.convt{1,2,3} / G.bnt{1,2,3} up.{0,1,2}.conv / .bn
    G.convt4                      head
    GCs.convt<i>.gate_conv        prior.levels.<i>.deconv.conv     (i = 0..3)
    GCs.bnt<i>                    prior.levels.<i>.bn
    GCs.alpha<i+1>                prior.levels.<i>.scale            (i = 0..3)
    GCs.alpha_att1 / alpha_att2   attn_scale_in / attn_scale_out
    GCs.rel_pos_emb.weight        mpe.distance_table
    GCs.direct_emb.weight         mpe.direction_table
    GCs.alpha5 / alpha6           mpe.distance_scale / mpe.direction_scale
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Callable

import torch

from inpaint.errors import CheckpointError
from inpaint.models.remap import strict_remap

_RULES: list[tuple[str, Callable[..., str]]] = [
    (r"G\.conv1\.(.*)", lambda p: f"stem.{p}"),
    (r"G\.bn1\.(.*)", lambda p: f"stem_bn.{p}"),
    (r"G\.conv([234])\.(.*)", lambda i, p: f"down.{int(i) - 2}.conv.{p}"),
    (r"G\.bn([234])\.(.*)", lambda i, p: f"down.{int(i) - 2}.bn.{p}"),
    (r"G\.middle\.(.*)", lambda p: f"blocks.{p}"),
    (r"G\.convt([123])\.(.*)", lambda i, p: f"up.{int(i) - 1}.conv.{p}"),
    (r"G\.bnt([123])\.(.*)", lambda i, p: f"up.{int(i) - 1}.bn.{p}"),
    (r"G\.convt4\.(.*)", lambda p: f"head.{p}"),
    (r"GCs\.convt([0-3])\.gate_conv\.(.*)", lambda i, p: f"prior.levels.{i}.deconv.conv.{p}"),
    (r"GCs\.bnt([0-3])\.(.*)", lambda i, p: f"prior.levels.{i}.bn.{p}"),
    (r"GCs\.alpha([1-4])", lambda i: f"prior.levels.{int(i) - 1}.scale"),
    (r"GCs\.alpha_att1", lambda: "attn_scale_in"),
    (r"GCs\.alpha_att2", lambda: "attn_scale_out"),
    (r"GCs\.rel_pos_emb\.weight", lambda: "mpe.distance_table"),
    (r"GCs\.direct_emb\.weight", lambda: "mpe.direction_table"),
    (r"GCs\.alpha5", lambda: "mpe.distance_scale"),
    (r"GCs\.alpha6", lambda: "mpe.direction_scale"),
]


def rename_acr_key(key: str) -> str | None:
    """Authors' ``ACRModel`` key (``G.*`` / ``GCs.*``) -> this package's ``ACRGenerator`` key, or None."""
    for pattern, target in _RULES:
        match = re.fullmatch(pattern, key)
        if match:
            return target(*match.groups())
    return None


def _load(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file; give the path of the FAR authors' checkpoint (.ckpt or G_last.pth)")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):  # their trainers may store argparse args
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError / RuntimeError for unsafe or broken files
        raise CheckpointError(f"{path}: not a weights-only torch checkpoint ({type(exc).__name__}); refusing to unpickle it") from exc
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: expected a dict (a Lightning checkpoint or {{'generator', 'gc_encoder'}}), got {type(obj).__name__}")
    return obj


def split_authors_checkpoint(
    obj: dict, ema: bool = False, source: str = "checkpoint"
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
    """(ACR state dict with ``G.`` / ``GCs.`` keys, MAE state dict or None) from either file layout."""
    if "generator" in obj and "gc_encoder" in obj:
        parts = (obj["generator"], obj["gc_encoder"])
        if not all(isinstance(part, dict) and all(isinstance(v, torch.Tensor) for v in part.values()) for part in parts):
            raise CheckpointError(f"{source}: 'generator' and 'gc_encoder' must be state dicts of tensors")
        acr = {f"G.{k}": v for k, v in parts[0].items()}
        acr.update({f"GCs.{k}": v for k, v in parts[1].items()})
        return acr, None
    state = obj.get("state_dict", obj)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for k, v in state.items() if k.startswith(("acr", "mae."))):
        raise CheckpointError(f"{source}: expected a Lightning checkpoint whose 'state_dict' holds tensors")
    prefix = "acr_ema." if ema else "acr."
    acr = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not acr:
        found = sorted({k.split(".")[0] for k in state})
        raise CheckpointError(f"{source}: no '{prefix}*' weights (top-level prefixes: {found[:8]}); "
                              f"is it the FAR authors' checkpoint{' trained with --use_ema' if ema else ''}?")
    mae = {k[len("mae."):]: v for k, v in state.items() if k.startswith("mae.")}
    return acr, (mae or None)


def convert_acr_state_dict(state: dict[str, torch.Tensor], net: torch.nn.Module, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Map an authors' ``ACRModel`` state dict (``G.*``, ``GCs.*``) onto ``net`` (an ``ACRGenerator``), strictly.

    Raises CheckpointError naming unexpected, missing or mis-shaped keys.
    """
    items = ((key, rename_acr_key(key), value) for key, value in state.items())
    return strict_remap(items, net.state_dict(), source, "FAR ACR")


def load_authors_checkpoint(path: str | Path, preset: str = "far", mae_path: str | Path | None = None, ema: bool = False, **overrides):
    """Build preset ``preset`` and load the authors' weights into it; returns the model in eval mode.

    Args:
        path: their Lightning checkpoint (MAE + ACR) or their ``G_last.pth`` (ACR only).
        mae_path: their MAE checkpoint (``{"model": state}``); needed when ``path`` holds no MAE, and when
            given it replaces the MAE inside ``path``.
        ema: load the ACR's EMA weights (``acr_ema.*``) from a Lightning checkpoint instead of ``acr.*``.
    Raises:
        CheckpointError: a file is missing, not weights-only, or does not fit the preset (strict, both parts).
    """
    from inpaint.models import build_model, mae_authors

    path = Path(path)
    acr, mae = split_authors_checkpoint(_load(path), ema=ema, source=str(path))
    model = build_model(preset, **overrides)
    model.net.load_state_dict(convert_acr_state_dict(acr, model.net, str(path)))
    if mae_path is not None:
        mae, mae_source = mae_authors.read_authors_state_dict(mae_path), str(mae_path)
    elif mae is None:
        raise CheckpointError(f"{path}: holds only the ACR ('generator', 'gc_encoder'); give the authors' MAE checkpoint too")
    else:
        mae_source = str(path)
    model.mae.net.load_state_dict(mae_authors.convert_authors_state_dict(mae, model.mae.net, mae_source))
    return model.eval()
