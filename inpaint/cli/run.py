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
    "Texture from the photo's own known region in the fill (every strategy, clip frames too): on (strength 0.7), "
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
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="An .onnx from 'inpaint export' or a .safetensors checkpoint.", show_default="the bundled model"),
    engine: str = typer.Option("auto", "--engine", "-e", help=ENGINE_HELP),
    batch: int = typer.Option(1, "--batch", "-b", help="Equal-size images (or frames of a clip) run together, up to this many."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available) | cpu | cuda."),
    skip_existing: bool = typer.Option(False, "--skip-existing", help="Leave out images and clips whose output exists (resume a stopped run)."),
    strategy: str = typer.Option("auto", "--strategy", help=STRATEGY_HELP),
    dilate: int = typer.Option(0, "--dilate", help="Grow the mask by PX pixels first, so that object edges and halos go too (default 0 for photos and clips).", metavar="PX"),
    cuda_graph: bool = typer.Option(False, "--cuda-graph", help="TensorRT: capture each input shape once as a CUDA graph and replay it (fixed-size batches)."),
    shard: Optional[str] = typer.Option(None, "--shard", help="K/N: only the K-th (1..N) of N equal shares of a folder's sorted inputs (one per job of a cluster array)."),
    codec: Optional[str] = typer.Option(None, "--codec", help="Clips: video encoder: libx264 (H.264) for mp4/m4v/mov/mkv, mpeg4 (MPEG-4 Part 2, q 2) for avi, libvpx-vp9 for webm; also libx265, libsvtav1, ffv1 (lossless), ...", show_default="by the output's suffix"),
    crf: Optional[int] = typer.Option(None, "--crf", help="Clips: constant quality of x264/x265/VP9/AV1 (lower = better, larger).", show_default="18"),
    preset: Optional[str] = typer.Option(None, "--preset", help="Clips: x264/x265 speed preset (ultrafast ... veryslow).", show_default="medium"),
    video_mode: Optional[str] = typer.Option(None, "--video-mode", help=VIDEO_MODE_HELP, metavar="propagate|temporal|frames", show_default="propagate"),
    temporal: bool = typer.Option(False, "--temporal", help="Clips: --video-mode temporal (frame by frame, the fill steadied across frames: kept where nothing moved, carried along the optical flow, never across a scene cut)."),
    texture: str = typer.Option("on", "--texture", help=TEXTURE_HELP, metavar="on|off|S"),
    mask_hold_last: bool = typer.Option(False, "--mask-hold-last", help="Clips: when the mask folder / mask video is shorter than the clip, keep its last mask (else an error)."),
    quality: Optional[int] = typer.Option(None, "--quality", help="jpg / webp outputs: quality 1-100. Known pixels are bit-identical only in lossless files (png, tiff, bmp, webp without --quality); a jpg is re-encoded.", show_default="jpg 95, webp lossless"),
    force: bool = typer.Option(False, "--force", help="Use a mask that looks wrong: one covering 98 %+ of the picture, or one that looks like a photo (IMAGE and MASK swapped?)."),
) -> int:
    """Remove the masked regions of photos and clips.

    A missing or broken file is reported and skipped; the exit code is 1 when any input failed (2 when
    the only input cannot be read or cannot start, e.g. a mask folder shorter than the clip). Outputs are
    written to a hidden temporary name and renamed when complete: an existing file is never left
    half-written. SIGINT / SIGTERM stop within seconds: temporary files removed, finished outputs whole,
    "interrupted: N of M written", exit 130 / 143; ``--skip-existing`` then resumes.
    """
    from inpaint.runtime.backends import load_runner
    from inpaint.runtime.io import check_quality
    from inpaint.runtime.jobs import parse_shard, plan_jobs
    from inpaint.runtime.model_files import resolve_model
    from inpaint.runtime.pipeline import Report
    from inpaint.runtime.sources import ImageFiles
    from inpaint.runtime.strategies import check_strategy
    from inpaint.runtime.texture import check_texture
    from inpaint.cli.progress import progress
    from inpaint.runtime.video.pipeline import check_mode

    if batch < 1:
        raise UserError(f"--batch {batch}: must be 1 or more")
    check_strategy(strategy)
    check_texture(texture)
    check_quality(quality)
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
                         hold_last=mask_hold_last, force_mask=force, infer_options=infer_options)
    runner = load_runner(resolve_model(model, engine), engine, device, cuda_graph=cuda_graph)
    report = Report()
    total = len(jobs) + len(missing)
    try:
        with runner, progress() as bar:
            if photos or missing:
                _run_photos(runner, ImageFiles(photos, missing, force_mask=force, quality=quality), batch, bar, infer_options, report)
            for job in clips:
                _run_clip(runner, job, video_options, bar, report)
    except KeyboardInterrupt as exc:
        typer.echo(f"interrupted: {len(report.written)} of {total} written (unfinished outputs removed; "
                   "rerun with --skip-existing to do the rest)", err=True)
        exc.reported = True
        raise
    if total == 1 and report.bad_input and not image.is_dir():
        # a single input that cannot be read: the same as any other bad argument (exit 2), photo or clip
        raise next(iter(report.bad_input.values()))
    for name, reason in report.failed:
        typer.echo(f"failed: {name}: {reason}", err=True)
    typer.echo(f"{len(report.written)} written, {len(report.failed)} failed ({runner.name} on {runner.device})")
    return 1 if report.failed else 0


def _run_photos(runner, source, batch: int, bar, infer_options: dict, report) -> None:
    from inpaint.runtime.pipeline import run_pipeline

    task = bar.add_task("inpainting", total=len(source), unit="images")
    run_pipeline(runner, source, batch=batch, on_done=lambda name, ok: bar.advance(task), report=report, **infer_options)


def _run_clip(runner, job, options: dict, bar, report) -> None:
    """One clip; its failure goes into ``report``."""
    from inpaint.runtime.video.pipeline import run_clip

    name = str(job.image)
    if job.mask is None:
        report.fail(name, UserError("no mask"))
        return
    task = bar.add_task(job.image.name, total=None, unit="frames")
    try:
        result = run_clip(
            runner, job.image, job.mask, job.output, **options,
            on_start=lambda total: bar.update(task, total=total),
            on_frame=lambda: bar.advance(task),
        )
    except Exception as exc:  # noqa: BLE001  a broken clip fails one input; the folder goes on
        report.fail(name, exc)
    else:
        bar.update(task, total=result.frames, completed=result.frames)
        report.written.append(name)
