"""``inpaint eval [MODEL] --images DIR --masks DIR [--baselines telea,ns] [--json F] [--sheet F] [--strategy S]``;
``inpaint eval [MODEL] --video CLIP --masks MASK [--clean CLEAN_CLIP]``: a clip's figures in every video mode
(flicker; with the clean clip, hole PSNR and the temporal error too)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from inpaint.errors import UserError


def eval_command(
    model: Optional[Path] = typer.Argument(None, help="An .onnx or .safetensors model.", show_default="the bundled model"),
    images: Optional[Path] = typer.Option(None, help="Folder of photos (ground truth)."),
    masks: Path = typer.Option(..., help="Folder of masks: <stem>.png or <stem>__<k>.png per photo (white = hole); with --video: the clip's mask (image, per-frame folder or mask video)."),
    video: Optional[Path] = typer.Option(None, "--video", help="A clip: report, for each --video-mode (propagate, temporal, frames), its flicker (warping error in the hole), time and frames inferred instead."),
    clean: Optional[Path] = typer.Option(None, "--clean", help="With --video: the clean clip (same size and frames, without what the mask removes): also hole PSNR and the temporal error in the hole."),
    generate_masks: bool = typer.Option(False, "--generate-masks", help="First write masks into --masks: free-form strokes (one per hole-ratio bin and photo) or, with --mask-kind objects, object silhouettes."),
    mask_kind: str = typer.Option("strokes", "--mask-kind", help="What --generate-masks draws: strokes (free-form, 6 bins) | objects (2 object-shaped holes of 8-25 % per photo)."),
    engine: str = typer.Option("auto", help="auto, onnx or torch."),
    baselines: str = typer.Option("telea,ns,pushpull", help="Comma-separated classical baselines: telea, ns (OpenCV), pushpull (the fill MADF --prefill pushpull starts from); empty for none."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Also write every number as JSON here."),
    sheet: Optional[Path] = typer.Option(Path("eval_sheet.png"), help="Contact sheet of the first cases (input, mask, baselines, model, photo)."),
    seed: int = typer.Option(0, help="Seed of --generate-masks."),
    strategy: str = typer.Option("auto", "--strategy", help="How the model meets photos larger than its working size: auto | crop | resize | full (as 'inpaint run')."),
    texture: str = typer.Option("on", "--texture", help="The model's texture stage, as 'inpaint run': on | off | a strength 0-2."),
) -> None:
    """PSNR / SSIM / hole PSNR / detail (fine texture in the hole, output over truth: 1 = as much as the photo)
    of the model beside OpenCV's Telea and Navier-Stokes, overall and per hole-ratio bin (or, with --video,
    a clip's figures in every --video-mode, against --clean when given)."""
    if video is not None:
        return _video_figures(model, video, masks, clean, engine, json_path)
    if images is None:
        raise UserError("give --images DIR (photos) or --video CLIP")
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from inpaint.runtime import Inpainter
    from inpaint.runtime.evaluate import evaluate, find_cases, load_cases, make_masks, make_object_masks
    from inpaint.runtime.texture import check_texture

    check_texture(texture)
    if mask_kind not in ("strokes", "objects"):
        raise UserError(f"--mask-kind {mask_kind}: use strokes or objects")
    if generate_masks:
        if masks.exists() and any(masks.iterdir()):
            raise UserError(f"--masks {masks} is not empty; --generate-masks writes into a new or empty folder")
        (make_object_masks if mask_kind == "objects" else make_masks)(images, masks, seed=seed)
    elif not masks.is_dir():
        raise UserError(f"--masks {masks}: no such folder; make one with --generate-masks")
    cases = load_cases(find_cases(images, masks))
    names = [b for b in baselines.split(",") if b]
    with Inpainter.load(model, engine=engine, strategy=strategy, texture=texture) as painter, Progress(transient=True) as bar:
        task = bar.add_task("eval", total=len(cases))
        report = evaluate(cases, painter.inpaint, names, model_name=painter.info.preset or "model", sheet=sheet, on_case=lambda: bar.advance(task))
    summary = report.summary()
    table = Table(title=f"{len(cases)} cases, whole-image PSNR (dB) / SSIM / PSNR in the holes (dB) / detail (median)")
    table.add_column("hole ratio")
    for m in report.methods:
        table.add_column(m, justify="right")
    for group, scores in summary.items():
        table.add_row(f"{group} (n={scores[report.methods[0]]['n']})", *(f"{scores[m]['psnr']:.2f} / {scores[m]['ssim']:.4f} / {scores[m]['hole_psnr']:.2f} / {scores[m]['detail']:.2f}" for m in report.methods))
    Console().print(table)
    if json_path:
        json_path.write_text(report.to_json())
    if sheet is not None:
        typer.echo(f"contact sheet: {sheet}")


def _video_figures(model: Optional[Path], video: Path, mask: Path, clean: Optional[Path], engine: str,
                   json_path: Optional[Path]) -> None:
    """Every video mode on one clip (:func:`inpaint.runtime.video.quality.measure_modes`)."""
    import json

    from rich.console import Console
    from rich.table import Table

    from inpaint.runtime.backends import load_runner
    from inpaint.runtime.model_files import resolve_model
    from inpaint.runtime.video.quality import measure_modes

    with load_runner(resolve_model(model, engine), engine, "auto") as runner:
        row = measure_modes(runner, video, mask, clean=clean)
    title = f"{video.name}: {row['frames']} frames; warping error (median over t) and, against {clean.name if clean else 'a clean clip (--clean)'}, " \
            "hole PSNR (dB) and temporal error (mean |d out - d clean| in the hole), grey levels"
    table = Table(title=title)
    for column in ("--video-mode", "warping error", "hole PSNR", "temporal error", "seconds", "frames inferred"):
        table.add_column(column, justify="right")
    for mode, m in row["modes"].items():
        table.add_row(mode, f"{m['warping_error']:.2f}", f"{m['hole_psnr']:.2f}", f"{m['temporal_error']:.2f}",
                      f"{m['seconds']:.1f}", str(m["inferred"]))
    Console().print(table)
    if json_path:
        json_path.write_text(json.dumps(row, indent=2))
