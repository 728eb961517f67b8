"""``inpaint convert madf SRC DST``: the authors' released checkpoints -> this package's format."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Convert the authors' released checkpoints to inpaint checkpoints (safetensors).", no_args_is_help=True)


@app.command("madf")
def madf(
    src: Path = typer.Argument(..., help="The authors' MADF .pth (torch.save dict with 'model'); read weights-only."),
    dst: Path = typer.Argument(..., help="Output .safetensors."),
    preset: str = typer.Option("madf", help="Preset whose architecture the checkpoint has."),
) -> None:
    """Map a Pytorch-MADF checkpoint onto this package's MADF, strictly, and save it."""
    from inpaint.models.checkpoint import file_sha256, save_model
    from inpaint.models.madf_authors import load_authors_checkpoint

    model = load_authors_checkpoint(src, preset=preset)
    save_model(model, dst, source=f"Pytorch-MADF:{src.name}", source_sha256=file_sha256(src))
    typer.echo(f"wrote {dst} ({preset}, {sum(p.numel() for p in model.parameters()):,} parameters)")
