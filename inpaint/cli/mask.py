"""``inpaint mask INPUT (--box X,Y,W,H | --scribble PATH | --from PATH) [--frame K] -o OUT [--dilate PX]``.

A photo -> one mask PNG; a clip -> a folder with one mask PNG per frame (00000.png ...), which
``inpaint run clip.mp4 masks/ -o out.mp4`` reads as it is. Imports nothing heavy at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from inpaint.errors import UserError

#: the same number as inpaint.runtime.masks.DEFAULT_DILATE (kept literal so --help needs no import)
_DEFAULT_DILATE = 3


def mask(
    input: Path = typer.Argument(..., help="A photo (png, jpg, webp, bmp, tiff) or a clip (mp4, mov, mkv, avi, webm)."),
    output: Path = typer.Option(..., "-o", "--output", help="Photo: the mask file (.png), or a folder (a name without a suffix) to hold PHOTO_NAME.png. Clip: a folder, filled with 00000.png, 00001.png, ... (one per frame)."),
    box: Optional[str] = typer.Option(None, "--box", help="X,Y,W,H: a box around the object, in pixels of the displayed picture / frame K (x from the left, y from the top).", metavar="X,Y,W,H"),
    scribble: Optional[Path] = typer.Option(None, "--scribble", help="A rough brush over the object (white = object, same size as the picture / frame K); refined to the object's edges."),
    key: Optional[Path] = typer.Option(None, "--from", help="Clips: the object's exact mask on frame K (white = object), tracked to every frame."),
    frame: int = typer.Option(0, "--frame", help="Clips: the frame (0-based) the box / brush / --from mask is drawn on; tracked forward and backward from it."),
    dilate: int = typer.Option(_DEFAULT_DILATE, "--dilate", help="Grow every mask by PX pixels, so the object's soft rim goes too (0 = the mask as found).", metavar="PX"),
) -> None:
    """Make the object mask(s) that 'inpaint run' removes: from a box or a rough brush on a photo, or tracked
    through a clip from one key frame. White (255) = remove. Nothing is written when the input is bad."""
    from rich.console import Console

    from inpaint.runtime.masks.clip import Key
    from inpaint.runtime.masks.segment import parse_box
    from inpaint.runtime.video.formats import is_clip

    given = [name for name, value in (("--box", box), ("--scribble", scribble), ("--from", key)) if value is not None]
    if len(given) != 1:
        raise UserError("give exactly one of --box X,Y,W,H, --scribble PATH or --from PATH (clips)"
                        + (f"; got {' and '.join(given)}" if given else ""))
    if dilate < 0:
        raise UserError(f"--dilate {dilate}: must be 0 or more pixels")
    if frame < 0:
        raise UserError(f"--frame {frame}: must be 0 or more")
    if not input.exists():
        raise UserError(f"{input}: no such file")
    for path, name in ((scribble, "--scribble"), (key, "--from")):
        if path is not None and not path.is_file():
            raise UserError(f"{name} {path}: no such file")
    spec = Key(mask=key, box=parse_box(box) if box is not None else None, scribble=scribble)
    console = Console(stderr=True)
    if is_clip(input):
        _clip(input, spec, frame, output, dilate, console)
    else:
        _photo(input, spec, frame, output, dilate)


def _photo(input: Path, spec, frame: int, output: Path, dilate: int) -> None:
    from inpaint.runtime.io import SUPPORTED_EXTENSIONS
    from inpaint.runtime.masks.photo import mask_photo

    if frame:
        raise UserError(f"--frame {frame}: {input.name} is a photo; --frame is for clips")
    if output.is_dir() or not output.suffix:  # a folder (Typer's Path drops a trailing '/'): the mask goes in it
        output = output / f"{input.stem}.png"
    elif output.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise UserError(f"-o {output}: give a mask file name ending in .png (or a folder)")
    hole = mask_photo(input, spec, output, dilate=dilate)
    typer.echo(f"{output}: {int(hole.sum())} px of {hole.size} to remove ({100 * hole.mean():.1f} %)")


def _clip(input: Path, spec, frame: int, output: Path, dilate: int, console) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from inpaint.runtime.masks.clip import mask_clip

    if output.suffix.lower() == ".png":
        raise UserError(f"-o {output}: a clip's masks go into a folder (e.g. -o masks/), one PNG per frame")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=not console.is_terminal) as progress:
        task = progress.add_task(f"masks of {input.name}", total=None)
        result = mask_clip(input, spec, frame, output, dilate=dilate,
                           on_start=lambda total: progress.update(task, total=total),
                           on_frame=lambda: progress.advance(task))
    fps = result.frames / result.seconds if result.seconds else 0.0
    typer.echo(f"{output}: {result.frames} masks ({result.empty} empty: the object out of view), {fps:.1f} frames/s")
