"""Everything a training run is configured by; saved as ``RUN/train_config.json`` and reused on resume."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass
class TrainConfig:
    """Options shared by every ``inpaint train`` task. Paths are stored as strings."""

    task: str = "madf"
    preset: str = "madf-s"
    data: str = ""
    out: str = "runs/madf"
    val: str | None = None
    masks: str | None = None
    size: int = 256
    batch: int = 4
    steps: int = 1000
    lr: float | None = None
    seed: int = 0
    workers: int = 2
    hole_range: tuple[float, float] = (0.05, 0.6)
    scale_range: tuple[float, float] = (1.0, 1.0)
    ckpt_every: int = 500
    val_every: int = 500
    log_every: int = 10
    val_count: int = 16
    amp: str = "auto"
    device: str = "auto"
    #: weights a new run starts from (``--init``); None: random initialisation
    init: str | None = None
    #: options of one task (``--perceptual``, ``--vgg-weights``, ``--mae`` ...), as given on the command line
    task_args: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> "TrainConfig":
        raw = json.loads(path.read_text())
        known = {f.name for f in fields(cls)}
        cfg = cls(**{k: v for k, v in raw.items() if k in known})
        cfg.hole_range, cfg.scale_range = tuple(cfg.hole_range), tuple(cfg.scale_range)
        return cfg
