"""``inpaint run IMAGE MASK -o OUT [--model PATH] [--engine auto|onnx|torch|trt] [--batch N] [--skip-existing]``
``[--strategy auto|crop|resize|full] [--texture on|off|S] [--dilate PX] [--cuda-graph] [--shard K/N] [--codec C] [--crf Q] [--preset P]``
``[--video-mode propagate|temporal|frames] [--temporal] [--mask-hold-last]``.

IMAGE may be a photo, a clip (mp4, mov, mkv, avi, webm) or a folder mixing both. Imports nothing heavy
at import time: ``inpaint run --help`` works without torch, onnxruntime or av.
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
TEXTURE_HELP = (
    "Texture from the photo's own known region in the fill (every strategy, clip frames too): on (default), "
    "off (the network's fill alone), or a strength 0-2 (1 = as strong as in the photo)."
)
VIDEO_MODE_HELP = (
    "Clips: propagate (default: each hole pixel from the frames that show it, along the optical flow; the network "
    "only for what no frame shows) | temporal (frame by frame, the fill steadied along the flow; = --temporal) | "
    "frames (each frame on its own)."
)
ENGINE_HELP = (
    "auto (the fastest engine here that runs the model file: TensorRT on an NVIDIA GPU, else ONNX Runtime; -v says why) "
    "| onnx | torch | trt (a .engine, or an .onnx built once into the engine cache)."
)


def run(
    image: Path = typer.Argument(..., help="An image or clip file, or a folder of them (png, jpg, webp, bmp, tiff; mp4, mov, mkv, avi, webm)."),
    mask: Path = typer.Argument(..., help="A mask file (used for every image / frame), a mask video, or a folder: masks matched by file stem, or a clip's per-frame masks numbered by frame (00000.png ...); white / non-zero = remove."),
    output: str = typer.Option(..., "-o", "--output", help="Output file, or folder (existing, ending in '/', or without an extension)."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="An .onnx from 'inpaint export' or a .safetensors checkpoint (default: the bundled model)."),
    engine: str = typer.Option("auto", "--engine", "-e", help=ENGINE_HELP),
    batch: int = typer.Option(1, "--batch", "-b", help="Equal-size images (or frames of a clip) run together, up to this many."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available) | cpu | cuda."),
    skip_existing: bool = typer.Option(False, "--skip-existing", help="Leave out images and clips whose output exists (resume a stopped run)."),
    strategy: str = typer.Option("auto", "--strategy", help=STRATEGY_HELP),
    dilate: int = typer.Option(0, "--dilate", help="Grow the mask by PX pixels first, so that object edges and halos go too (default 0 for photos and clips).", metavar="PX"),
    cuda_graph: bool = typer.Option(False, "--cuda-graph", help="TensorRT: capture each input shape once as a CUDA graph and replay it (fixed-size batches)."),
    shard: Optional[str] = typer.Option(None, "--shard", help="K/N: only the K-th (1..N) of N equal shares of a folder's sorted inputs (one per job of a cluster array)."),
    codec: Optional[str] = typer.Option(None, "--codec", help="Clips: video encoder (default by suffix: H.264 (libx264) for mp4/mov/mkv/avi, VP9 for webm; also libx265, libsvtav1, ffv1, ...)."),
    crf: Optional[int] = typer.Option(None, "--crf", help="Clips: constant quality of x264/x265/VP9/AV1 (default 18; lower = better, larger)."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Clips: x264/x265 speed preset (default medium; ultrafast ... veryslow)."),
    video_mode: Optional[str] = typer.Option(None, "--video-mode", help=VIDEO_MODE_HELP, metavar="propagate|temporal|frames"),
    temporal: bool = typer.Option(False, "--temporal", help="Clips: --video-mode temporal (frame by frame, the fill steadied across frames: kept where nothing moved, carried along the optical flow, never across a scene cut)."),
    texture: str = typer.Option("on", "--texture", help=TEXTURE_HELP, metavar="on|off|S"),
    mask_hold_last: bool = typer.Option(False, "--mask-hold-last", help="Clips: when the mask folder / mask video is shorter than the clip, keep its last mask (else an error)."),
) -> int:
    """Remove the masked regions of photos and clips.

    A missing or broken file is reported and skipped; the exit code is 1 when any input failed (2 when
    the only input cannot start, e.g. a mask folder shorter than the clip). Outputs are written to a
    hidden temporary name and renamed when complete: an existing file is never left half-written.
    """
    from inpaint.runtime.backends import load_runner
    from inpaint.runtime.jobs import parse_shard, plan_jobs
    from inpaint.runtime.model_files import resolve_model
    from inpaint.runtime.pipeline import Report
    from inpaint.runtime.sources import ImageFiles
    from inpaint.runtime.strategies import check_strategy
    from inpaint.runtime.texture import check_texture
    from inpaint.runtime.video.pipeline import check_mode

    if batch < 1:
        raise UserError(f"--batch {batch}: must be 1 or more")
    check_strategy(strategy)
    check_texture(texture)
    if temporal and video_mode not in (None, "temporal"):
        raise UserError(f"--temporal with --video-mode {video_mode}: give one of them (--temporal is --video-mode temporal)")
    mode = check_mode(video_mode or ("temporal" if temporal else "propagate"))
    if dilate < 0:
        raise UserError(f"--dilate {dilate}: must be 0 or more pixels")
    if crf is not None and crf < 0:
        raise UserError(f"--crf {crf}: must be 0 or more")
    # cheap checks first: the inputs, then the model
    jobs, missing = plan_jobs(image, mask, output, skip_existing=skip_existing, shard=parse_shard(shard))
    photos = [j for j in jobs if not j.is_clip]
    clips = [j for j in jobs if j.is_clip]
    #: keyword arguments of inpaint_arrays shared by photos and frames
    infer_options: dict = dict(strategy=strategy, dilate=dilate, texture=texture)
    video_options = dict(batch=batch, codec=codec, crf=crf, preset=preset, mode=mode,
                         hold_last=mask_hold_last, infer_options=infer_options)
    runner = load_runner(resolve_model(model, engine), engine, device, cuda_graph=cuda_graph)
    with runner:
        with _progress() as progress:
            report = Report()
            if photos or missing:
                report = _run_photos(runner, ImageFiles(photos, missing), batch, progress, infer_options)
            for job in clips:
                _run_clip(runner, job, video_options, progress, report, only=not image.is_dir())
    typer.echo(f"{len(report.written)} written, {len(report.failed)} failed ({runner.name} on {runner.device})")
    for name, reason in report.failed:
        typer.echo(f"failed: {name}: {reason}", err=True)
    return 1 if report.failed else 0


def _progress():
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        """items (images, frames) per second."""

        def render(self, task):
            unit = task.fields.get("unit", "it")
            return Text(f"{task.speed:.1f} {unit}/s" if task.speed else "")

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(), TimeElapsedColumn(), TimeRemainingColumn())
    return Progress(*columns, console=console, transient=not console.is_terminal)


def _run_photos(runner, source, batch: int, progress, infer_options: dict):
    from inpaint.runtime.pipeline import run_pipeline

    task = progress.add_task("inpainting", total=len(source), unit="images")
    return run_pipeline(runner, source, batch=batch, on_done=lambda name, ok: progress.advance(task), **infer_options)


def _run_clip(runner, job, options: dict, progress, report, only: bool) -> None:
    """One clip; its failure goes into ``report`` (or, when it is the only input, out as the error)."""
    from inpaint.runtime.pipeline import _reason
    from inpaint.runtime.video.pipeline import run_clip

    name = str(job.image)
    if job.mask is None:
        report.failed.append((name, "no mask"))
        return
    task = progress.add_task(job.image.name, total=None, unit="frames")
    try:
        result = run_clip(
            runner, job.image, job.mask, job.output, **options,
            on_start=lambda total: progress.update(task, total=total),
            on_frame=lambda: progress.advance(task),
        )
    except UserError as exc:
        if only:
            raise
        report.failed.append((name, _reason(name, exc)))
    except Exception as exc:  # noqa: BLE001  a broken clip fails one input; the folder goes on
        report.failed.append((name, _reason(name, exc)))
    else:
        progress.update(task, total=result.frames, completed=result.frames)
        report.written.append(name)
