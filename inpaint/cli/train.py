"""``inpaint train madf|mae|far ...``: one set of shared options, one small task builder per network.

Single GPU or CPU: ``inpaint train madf --data photos/ --out runs/a``.
Several GPUs: ``torchrun --nproc-per-node 4 -m inpaint.cli.main train madf ...``.
Adding a network = a task builder and one :func:`register` call.
"""

from __future__ import annotations

import inspect
import json
import os
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from inpaint.errors import Interrupted, UserError

app = typer.Typer(help="Train a network (PyTorch; CUDA + AMP when present; torchrun for several GPUs).", no_args_is_help=True)

DEFAULT_STEPS = 1000


class OnOff(str, Enum):
    on = "on"
    off = "off"


class Prefill(str, Enum):
    zero = "zero"
    pushpull = "pushpull"


class Amp(str, Enum):
    auto = "auto"
    off = "off"
    fp16 = "fp16"
    bf16 = "bf16"


def _opt(name: str, annotation: Any, default: Any, help: str, shown: str | None = None) -> inspect.Parameter:
    """A keyword option; ``shown``: the ``[default: ...]`` to print when ``default`` is None but means something."""
    option = typer.Option(default, help=help, **({"show_default": shown} if shown else {}))
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=annotation)


#: how the help marks the options a new run needs (a resumed run reads them from its train_config.json)
REQUIRED = "Required unless --resume."


#: options every ``inpaint train`` command takes
COMMON = [
    _opt("data", Optional[Path], None, f"Folder of training photos (recursive). {REQUIRED}"),
    _opt("val", Optional[Path], None, "Folder of validation photos (PSNR/SSIM on fixed masks; picks RUN/best)."),
    _opt("size", int, 256, "Training crop size (a multiple of the preset's stride)."),
    _opt("batch", int, 4, "Batch size per process."),
    _opt("steps", Optional[int], None, "Total optimisation steps (with --resume: extend the run to this many).", str(DEFAULT_STEPS)),
    _opt("resume", Optional[Path], None, "Continue the run in this folder exactly (weights, optimiser, step, RNG)."),
    _opt("init", Optional[Path], None, "Start a new run from these weights (a checkpoint of the same preset); optimiser and step start fresh."),
    _opt("lr", Optional[float], None, "Learning rate.", "the paper's"),
    _opt("seed", int, 0, "Seed of the data pipeline and initialisation."),
    _opt("workers", int, 2, "Data-loader worker processes."),
    _opt("masks", Optional[Path], None, "Folder of mask images mixed with generated free-form masks."),
    _opt("hole_range", tuple[float, float], (0.05, 0.6), "Hole-ratio range of generated masks."),
    _opt("scale_range", tuple[float, float], (1.0, 1.0), "Multi-scale crops: 1 = native resolution, 0 = whole short side."),
    _opt("ckpt_every", int, 500, "Write RUN/last every N steps."),
    _opt("val_every", int, 500, "Validate every N steps."),
    _opt("amp", Amp, Amp.auto, "Mixed precision on CUDA (auto: bf16 where supported, else fp16)."),
    _opt("device", str, "auto", "auto, cpu, cuda or cuda:N."),
]


def _positive(name: str, value: int) -> None:
    if value <= 0:
        raise UserError(f"--{name.replace('_', '-')} must be positive, got {value}")


def _config(task_name: str, opts: dict):
    """A TrainConfig from the command line, or the saved one of the run given to --resume."""
    from inpaint.trainer.config import TrainConfig

    resume = opts.pop("resume")
    if resume is not None:
        cfg_path = resume / "train_config.json"
        if not cfg_path.is_file():
            raise UserError(f"--resume {resume}: no train_config.json there; is it a run folder written by 'inpaint train'?")
        cfg = TrainConfig.load(cfg_path)
        if cfg.task != task_name:
            raise UserError(f"--resume {resume}: that run trains '{cfg.task}', not '{task_name}'; use 'inpaint train {cfg.task} --resume {resume}'")
        cfg.steps = cfg.steps if opts["steps"] is None else opts["steps"]
        cfg.out = str(resume)
        return cfg, True
    if opts["data"] is None:
        raise UserError("--data is required: a folder of photos (jpg/png/webp/bmp, searched recursively)")
    opts["steps"] = DEFAULT_STEPS if opts["steps"] is None else opts["steps"]
    for name in ("size", "batch", "steps", "ckpt_every", "val_every"):
        _positive(name, opts[name])
    if opts["workers"] < 0:
        raise UserError(f"--workers must be 0 or more, got {opts['workers']}")
    lo, hi = opts["hole_range"]
    if not 0 < lo < hi <= 1:
        raise UserError(f"--hole-range {lo} {hi}: need 0 < min < max <= 1")
    common = {p.name for p in COMMON} - {"resume"}
    cfg = TrainConfig(task=task_name, **{k: (str(v) if isinstance(v, Path) else v) for k, v in opts.items() if k in common})
    cfg.amp = opts["amp"].value
    cfg.hole_range, cfg.scale_range = tuple(cfg.hole_range), tuple(cfg.scale_range)
    cfg.preset, cfg.out = opts["preset"], str(opts["out"])
    cfg.task_args = {k: (str(v) if isinstance(v, Path) else v.value if isinstance(v, Enum) else v) for k, v in opts.items() if k not in common | {"preset", "out"}}
    return cfg, False


def _load_init(model, path: Path) -> None:
    """Load the weights of checkpoint ``path`` into ``model`` strictly (same architecture required)."""
    from inpaint.errors import CheckpointError
    from inpaint.models.checkpoint import load_model

    source = load_model(path)

    def arch(config: dict) -> dict:  # the architecture arguments, as JSON stores them (tuples become lists)
        return json.loads(json.dumps({k: v for k, v in config["args"].items() if k != "train_size"}))

    if source.config["family"] != model.config["family"] or arch(source.config) != arch(model.config):
        raise CheckpointError(f"--init {path}: a '{source.config['preset']}' checkpoint does not fit --preset {model.config['preset']} with these options")
    model.load_state_dict(source.state_dict())


def register(name: str, build_task: Callable, help: str, default_preset: str, extra: list[inspect.Parameter]) -> None:
    """Add ``inpaint train <name>``: the COMMON options, ``--preset``, ``--out`` and ``extra``;
    ``build_task(cfg)`` returns a :class:`~inpaint.trainer.task.Task` (task-specific options in ``cfg.task_args``)."""

    def command(**opts) -> None:
        from inpaint.trainer.loop import Trainer, TrainingInterrupted

        cfg, resuming = _config(name, opts)
        task = build_task(cfg)
        if cfg.init and not resuming:
            _load_init(task.model, Path(cfg.init))
        try:
            summary = Trainer(task, cfg, resume=resuming).fit()
        except TrainingInterrupted as exc:
            typer.echo(str(exc), err=True)
            stop = Interrupted(exc.signum)
            stop.reported = True
            raise stop from None
        shown = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in summary.items())
        if os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 reports
            typer.echo(f"done: {shown}; checkpoints in {cfg.out}")

    params = [
        _opt("preset", str, default_preset, "Model preset (see README)."),
        _opt("out", Path, Path(f"runs/{name}"), "Run folder for checkpoints and logs."),
        *COMMON,
        *extra,
    ]
    command.__signature__ = inspect.Signature(params)
    command.__doc__ = help
    app.command(name, help=help)(command)


def _madf_task(cfg):
    from inpaint.models import build_model
    from inpaint.models.base import InpaintModel
    from inpaint.trainer.madf import MADFTask

    prefill = cfg.task_args.get("prefill", "zero")
    model = build_model(cfg.preset, train_size=cfg.size, prefill=None if prefill == "zero" else prefill)
    if not isinstance(model, InpaintModel) or model.config["family"] != "madf":
        raise UserError(f"--preset {cfg.preset} is not a MADF preset; use madf, madf-s or madf-t")
    if cfg.size % model.stride:
        raise UserError(f"--size {cfg.size}: must be a multiple of {model.stride} for {cfg.preset}")
    vgg = None
    if cfg.task_args.get("perceptual", "on") == "on":
        weights = cfg.task_args.get("vgg_weights")
        if not weights:
            raise UserError("perceptual losses need VGG16 ImageNet weights: give --vgg-weights PATH (torchvision's vgg16-397923af.pth or a .safetensors), or train with --perceptual off")
        from inpaint.trainer.losses import VGG16Features

        vgg = VGG16Features(weights)
    return MADFTask(model, vgg, **({"lr": cfg.lr} if cfg.lr else {}))


register(
    "madf",
    _madf_task,
    "Train MADF with the paper's losses and incremental supervision (Adam 2e-4).",
    "madf-s",
    [
        _opt("perceptual", OnOff, OnOff.on, "Perceptual + style losses (need --vgg-weights)."),
        _opt("prefill", Prefill, Prefill.zero, "Holes as the network sees them: zero (the paper) or pushpull (a smooth fill the network corrects; the bundled default)."),
        _opt("vgg_weights", Optional[Path], None, "VGG16 ImageNet weights, torchvision layout (.pth read weights-only, .safetensors, Keras .h5)."),
    ],
)


def _mae_task(cfg):
    from inpaint.models import build_model
    from inpaint.trainer.mae import MAETask

    model = build_model(cfg.preset)
    if getattr(model, "config", {}).get("family") != "mae":
        raise UserError(f"--preset {cfg.preset} is not an MAE preset; use mae, mae-s or mae-t")
    warmup = cfg.task_args.get("warmup_steps")
    if warmup is not None and warmup < 0:
        raise UserError(f"--warmup-steps must be 0 or more, got {warmup}")
    return MAETask(model, total_steps=cfg.steps, warmup_steps=warmup, lr=cfg.lr, batch=cfg.batch, seed=cfg.seed)


register(
    "mae",
    _mae_task,
    "Pre-train FAR's MAE: mixed masking (hole patches first, random up to 75%), MSE on removed patches, AdamW + cosine. Crops are resized to the MAE's 256x256.",
    "mae-s",
    [_opt("warmup_steps", Optional[int], None, "Linear warm-up steps before the cosine decay (the authors' 10 of 200 epochs).", "5% of --steps")],
)


def _far_task(cfg):
    import logging

    from inpaint.models import build_model
    from inpaint.trainer.far import FARTask, load_mae

    try:
        model = build_model(cfg.preset, train_size=cfg.size)
    except TypeError as exc:  # a family without train_size (mae) is not FAR either
        if "train_size" not in str(exc):
            raise
        model = None
    if getattr(model, "config", {}).get("family") != "far":
        raise UserError(f"--preset {cfg.preset} is not a FAR preset; use far, far-s or far-t")
    if cfg.size % model.stride:
        raise UserError(f"--size {cfg.size}: must be a multiple of {model.stride} for {cfg.preset}")
    lr_d = cfg.task_args.get("lr_d")
    for flag, value in (("--lr", cfg.lr), ("--lr-d", lr_d)):
        if value is not None and value <= 0:
            raise UserError(f"{flag} must be positive, got {value}")
    mae = cfg.task_args.get("mae")
    if not mae:
        raise UserError(f"--mae is required: an MAE checkpoint of this package for {cfg.preset} (train one with 'inpaint train mae --preset {model.mae.config['preset']}')")
    load_mae(model, mae)
    hrf = None
    if cfg.task_args.get("seg_weights"):
        from inpaint.trainer.losses.far import HRFPerceptualLoss

        hrf = HRFPerceptualLoss.from_weights(cfg.task_args["seg_weights"])
    else:
        logging.getLogger("inpaint.trainer").warning("no --seg-weights: training FAR without the HRF perceptual loss (L1, adversarial and feature matching only)")
    return FARTask(model, hrf, **({"lr": cfg.lr} if cfg.lr else {}), **({"lr_d": lr_d} if lr_d else {}))


register(
    "far",
    _far_task,
    "Train FAR's ACR with a frozen MAE (--mae): known-pixel L1 10, non-saturating adversarial 10 with a PatchGAN and R1 0.001, "
    "feature matching 100, HRF perceptual 30 with --seg-weights; Adam G 1e-3, D 1e-4. Sizes: multiples of 128.",
    "far-s",
    [
        _opt("mae", Optional[Path], None, f"MAE checkpoint of this package (from 'inpaint train mae') matching the preset: far <- mae, far-s <- mae-s, far-t <- mae-t. {REQUIRED}"),
        _opt("seg_weights", Optional[Path], None, "ADE20K resnet50dilated encoder weights for the HRF perceptual loss (encoder_epoch_20.pth, read weights-only, or .safetensors); without it: no HRF loss."),
        _opt("lr_d", Optional[float], None, "Discriminator learning rate.", "1e-4"),
    ],
)
