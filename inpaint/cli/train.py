"""``inpaint train madf ...`` (``mae`` and ``far`` join it with their own tasks).

Single GPU or CPU: ``inpaint train madf --data photos/ --out runs/a``.
Several GPUs: ``torchrun --nproc-per-node 4 -m inpaint.cli.main train madf ...``.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from inpaint.errors import UserError

app = typer.Typer(help="Train a network (PyTorch; CUDA + AMP when present; torchrun for several GPUs).", no_args_is_help=True)


class OnOff(str, Enum):
    on = "on"
    off = "off"


class Amp(str, Enum):
    auto = "auto"
    off = "off"
    fp16 = "fp16"
    bf16 = "bf16"


DEFAULT_STEPS = 1000


def _positive(name: str, value: int) -> None:
    if value <= 0:
        raise UserError(f"--{name} must be positive, got {value}")


def _run(task_name: str, build_task, opts: dict, resume: Optional[Path]) -> None:
    from inpaint.trainer.config import TrainConfig
    from inpaint.trainer.loop import Trainer, TrainingInterrupted

    if resume is not None:
        cfg_path = resume / "train_config.json"
        if not cfg_path.is_file():
            raise UserError(f"--resume {resume}: no train_config.json there; is it a run folder written by 'inpaint train'?")
        cfg = TrainConfig.load(cfg_path)
        cfg.steps = cfg.steps if opts["steps"] is None else opts["steps"]
        cfg.out = str(resume)
    else:
        opts["steps"] = DEFAULT_STEPS if opts["steps"] is None else opts["steps"]
        if opts["data"] is None:
            raise UserError("--data is required: a folder of photos (jpg/png/webp/bmp, searched recursively)")
        for name in ("size", "batch", "steps", "ckpt_every", "val_every"):
            _positive(name.replace("_", "-"), opts[name])
        if opts["workers"] < 0:
            raise UserError(f"--workers must be 0 or more, got {opts['workers']}")
        lo, hi = opts["hole_range"]
        if not 0 < lo < hi <= 1:
            raise UserError(f"--hole-range {lo} {hi}: need 0 < min < max <= 1")
        cfg = TrainConfig(
            task=task_name,
            preset=opts["preset"],
            data=str(opts["data"]),
            out=str(opts["out"]),
            val=str(opts["val"]) if opts["val"] else None,
            masks=str(opts["masks"]) if opts["masks"] else None,
            size=opts["size"],
            batch=opts["batch"],
            steps=opts["steps"],
            lr=opts["lr"],
            seed=opts["seed"],
            workers=opts["workers"],
            hole_range=(lo, hi),
            scale_range=tuple(opts["scale_range"]),
            ckpt_every=opts["ckpt_every"],
            val_every=opts["val_every"],
            amp=opts["amp"].value,
            device=opts["device"],
            perceptual=opts["perceptual"] == OnOff.on,
            vgg_weights=str(opts["vgg_weights"]) if opts["vgg_weights"] else None,
        )
    task = build_task(cfg)
    try:
        summary = Trainer(task, cfg, resume=resume is not None).fit()
    except TrainingInterrupted as exc:
        raise UserError(str(exc)) from None
    typer.echo("done: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in summary.items()) + f"; checkpoints in {cfg.out}")


def _madf_task(cfg):
    from inpaint.models import build_model
    from inpaint.models.base import InpaintModel
    from inpaint.trainer.madf import MADFTask

    model = build_model(cfg.preset, train_size=cfg.size)
    if not isinstance(model, InpaintModel) or model.config["family"] != "madf":
        raise UserError(f"--preset {cfg.preset} is not a MADF preset; use madf, madf-s or madf-t")
    if cfg.size % model.stride:
        raise UserError(f"--size {cfg.size}: must be a multiple of {model.stride} for {cfg.preset}")
    vgg = None
    if cfg.perceptual:
        if not cfg.vgg_weights:
            raise UserError("perceptual losses need VGG16 ImageNet weights: give --vgg-weights PATH (torchvision's vgg16-397923af.pth or a .safetensors), or train with --perceptual off")
        from inpaint.trainer.losses import VGG16Features

        vgg = VGG16Features(cfg.vgg_weights)
    return MADFTask(model, vgg, **({"lr": cfg.lr} if cfg.lr else {}))


@app.command("madf")
def madf(
    data: Optional[Path] = typer.Option(None, help="Folder of training photos (recursive)."),
    val: Optional[Path] = typer.Option(None, help="Folder of validation photos (PSNR/SSIM on fixed masks; picks RUN/best)."),
    preset: str = typer.Option("madf-s", help="Model preset: madf (paper), madf-s (CPU), madf-t (tests)."),
    size: int = typer.Option(256, help="Training crop size (a multiple of the preset's stride)."),
    batch: int = typer.Option(4, help="Batch size per process."),
    steps: Optional[int] = typer.Option(None, help="Total optimisation steps [default: 1000] (with --resume: extend the run to this many)."),
    out: Path = typer.Option(Path("runs/madf"), help="Run folder for checkpoints and logs."),
    resume: Optional[Path] = typer.Option(None, help="Continue the run in this folder exactly (weights, optimiser, step, RNG)."),
    lr: Optional[float] = typer.Option(None, help="Learning rate (default: the paper's 2e-4)."),
    seed: int = typer.Option(0, help="Seed of the data pipeline and initialisation."),
    workers: int = typer.Option(2, help="Data-loader worker processes."),
    masks: Optional[Path] = typer.Option(None, help="Folder of mask images mixed with generated free-form masks."),
    hole_range: tuple[float, float] = typer.Option((0.05, 0.6), help="Hole-ratio range of generated masks."),
    scale_range: tuple[float, float] = typer.Option((1.0, 1.0), help="Multi-scale crops: random photo down-scale range."),
    ckpt_every: int = typer.Option(500, help="Write RUN/last every N steps."),
    val_every: int = typer.Option(500, help="Validate every N steps."),
    amp: Amp = typer.Option(Amp.auto, help="Mixed precision on CUDA (auto: bf16 where supported, else fp16)."),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    perceptual: OnOff = typer.Option(OnOff.on, help="Perceptual + style losses (need --vgg-weights)."),
    vgg_weights: Optional[Path] = typer.Option(None, help="VGG16 ImageNet weights, torchvision layout (.pth weights-only or .safetensors)."),
) -> None:
    """Train MADF with the paper's losses and incremental supervision."""
    opts = dict(locals())
    _run("madf", _madf_task, opts, resume)
