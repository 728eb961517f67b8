"""``inpaint run IMAGE MASK -o OUT [--model PATH] [--engine auto|onnx|torch|trt] [--batch N] [--skip-existing]
[--strategy auto|crop|resize|full] [--dilate PX] [--cuda-graph]``.

Imports nothing heavy at import time: ``inpaint run --help`` works without torch or onnxruntime.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from inpaint.errors import UserError

STRATEGY_HELP = (
    "auto (full resolution up to twice the model's working size, else crop; resize when the crop windows would cover most "
    "of the photo) | crop (windows around the holes at the working size) | resize (the whole photo at the "
    "working size) | full (native resolution; refused when it cannot fit in memory)."
)
ENGINE_HELP = (
    "auto (the fastest engine here that runs the model file: TensorRT on an NVIDIA GPU, else ONNX Runtime; -v says why) "
    "| onnx | torch | trt (a .engine, or an .onnx built once into the engine cache)."
)


def run(
    image: Path = typer.Argument(..., help="An image file or a folder of images (png, jpg, webp, bmp, tiff; 8/16-bit; grey, RGB, RGBA)."),
    mask: Path = typer.Argument(..., help="A mask file (used for every image) or a folder of masks matched by file stem; white / non-zero = remove."),
    output: str = typer.Option(..., "-o", "--output", help="Output file, or folder (existing, ending in '/', or without an extension)."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="An .onnx from 'inpaint export' or a .safetensors checkpoint (default: the bundled model)."),
    engine: str = typer.Option("auto", "--engine", "-e", help=ENGINE_HELP),
    batch: int = typer.Option(1, "--batch", "-b", help="Equal-size images run together, up to this many."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available) | cpu | cuda."),
    skip_existing: bool = typer.Option(False, "--skip-existing", help="Leave out images whose output exists (resume a stopped run)."),
    strategy: str = typer.Option("auto", "--strategy", help=STRATEGY_HELP),
    dilate: int = typer.Option(0, "--dilate", help="Grow the mask by PX pixels first, so that object edges and halos go too (default 0 for photos).", metavar="PX"),
    cuda_graph: bool = typer.Option(False, "--cuda-graph", help="TensorRT: capture each input shape once as a CUDA graph and replay it (fixed-size batches)."),
) -> int:
    """Remove the masked regions of one image or a folder of images.

    A missing or broken file is reported and skipped; the exit code is 1 when any image failed.
    Outputs are written atomically: an existing file is never left half-written.
    """
    from inpaint.runtime.backends import load_runner
    from inpaint.runtime.jobs import plan_jobs
    from inpaint.runtime.model_files import resolve_model
    from inpaint.runtime.sources import ImageFiles
    from inpaint.runtime.strategies import check_strategy

    if batch < 1:
        raise UserError(f"--batch {batch}: must be 1 or more")
    check_strategy(strategy)
    if dilate < 0:
        raise UserError(f"--dilate {dilate}: must be 0 or more pixels")
    # cheap checks first: the inputs, then the model
    jobs, missing = plan_jobs(image, mask, output, skip_existing=skip_existing)
    source = ImageFiles(jobs, missing)
    runner = load_runner(resolve_model(model, engine), engine, device, cuda_graph=cuda_graph)
    with runner:
        report = _run_with_progress(runner, source, batch, strategy=strategy, dilate=dilate)
    typer.echo(f"{len(report.written)} written, {len(report.failed)} failed ({runner.name} on {runner.device})")
    for name, reason in report.failed:
        typer.echo(f"failed: {name}: {reason}", err=True)
    return 1 if report.failed else 0


def _run_with_progress(runner, source, batch: int, **options):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from inpaint.runtime.pipeline import run_pipeline

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=not console.is_terminal) as progress:
        task = progress.add_task("inpainting", total=len(source))
        return run_pipeline(runner, source, batch=batch, on_done=lambda name, ok: progress.advance(task), **options)
