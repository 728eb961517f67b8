"""``inpaint convert madf|far|mae SRC DST``: the authors' released checkpoints -> this package's format.

    inpaint convert madf SRC.pth DST.safetensors                 # Pytorch-MADF {'model': ...}
    inpaint convert far  SRC DST.safetensors [--mae MAE_SRC]     # MAE-FAR Lightning .ckpt (MAE + ACR), or
                                                                 # G_last.pth (ACR only: --mae is then needed)
    inpaint convert mae  SRC.pth DST.safetensors                 # MAE-FAR MAE pre-training checkpoint

Every mapping is strict (:mod:`inpaint.models.madf_authors`, :mod:`~inpaint.models.far_authors`,
:mod:`~inpaint.models.mae_authors`): an unexpected, missing or mis-shaped key is a one-line error naming it (exit 2),
and nothing is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Convert the authors' released checkpoints to inpaint checkpoints (safetensors).", no_args_is_help=True)


def _save(model, dst: Path, preset: str, source: str, sources: list[Path]) -> None:
    from inpaint.models.checkpoint import file_sha256, save_model

    extra = {"source": source, "source_sha256": ",".join(file_sha256(p) for p in sources)}
    save_model(model, dst, **extra)
    typer.echo(f"wrote {dst} ({preset}, {sum(p.numel() for p in model.parameters()):,} parameters)")


@app.command("madf")
def madf(
    src: Path = typer.Argument(..., help="The authors' MADF .pth (torch.save dict with 'model'); read weights-only."),
    dst: Path = typer.Argument(..., help="Output .safetensors."),
    preset: str = typer.Option("madf", help="Preset whose architecture the checkpoint has."),
) -> None:
    """Map a Pytorch-MADF checkpoint onto this package's MADF, strictly, and save it."""
    from inpaint.models.madf_authors import load_authors_checkpoint

    model = load_authors_checkpoint(src, preset=preset)
    _save(model, dst, preset, f"Pytorch-MADF:{src.name}", [src])


@app.command("far")
def far(
    src: Path = typer.Argument(..., help="The authors' FAR checkpoint: their Lightning .ckpt (MAE + ACR) or G_last.pth (ACR); read weights-only."),
    dst: Path = typer.Argument(..., help="Output .safetensors (MAE and ACR in one file)."),
    mae: Optional[Path] = typer.Option(None, "--mae", help="The authors' MAE checkpoint; needed with G_last.pth, replaces the MAE of a .ckpt."),
    preset: str = typer.Option("far", help="Preset whose architecture the checkpoint has."),
    ema: bool = typer.Option(False, "--ema", help="Take the ACR's EMA weights (acr_ema.*) of a Lightning checkpoint."),
) -> None:
    """Map a MAE-FAR checkpoint (ACR, and its MAE or the one of --mae) onto this package's FAR, strictly, and save it."""
    from inpaint.models.far_authors import load_authors_checkpoint

    model = load_authors_checkpoint(src, preset=preset, mae_path=mae, ema=ema)
    sources = [src] + ([mae] if mae is not None else [])
    _save(model, dst, preset, "MAE-FAR:" + "+".join(p.name for p in sources), sources)


@app.command("mae")
def mae(
    src: Path = typer.Argument(..., help="The authors' MAE checkpoint ({'model': ...}, or a FAR Lightning .ckpt); read weights-only."),
    dst: Path = typer.Argument(..., help="Output .safetensors (for 'inpaint train far --mae' or further MAE training)."),
    preset: str = typer.Option("mae", help="Preset whose architecture the checkpoint has."),
) -> None:
    """Map a MAE-FAR MAE checkpoint onto this package's MAE, strictly, and save it."""
    from inpaint.models.mae_authors import load_authors_checkpoint

    model = load_authors_checkpoint(src, preset=preset)
    _save(model, dst, preset, f"MAE-FAR:{src.name}", [src])
