"""``inpaint bench [MODEL ...] --engine trt,onnx,torch --size 512 --batch B``: latency, throughput, memory.

Each engine runs in its own process (:mod:`inpaint.runtime.bench`). Several engines print their speed
relative to the first one. Imports nothing heavy at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from inpaint.errors import UserError


def pair_models(models: list[Path], engines: list[str]) -> list[tuple[str, Path]]:
    """(engine, model file) for each engine.

    A named engine takes the first MODEL whose suffix it runs, else a file beside the first MODEL with
    the same stem and a suffix it runs (``m.onnx`` -> ``m.safetensors``, as ``inpaint export`` names
    them); "auto" takes every MODEL with its auto engine. No MODEL: the bundled default for each engine.
    """
    from inpaint.runtime.backends import get_engine, resolve_engine, unavailable
    from inpaint.runtime.model_files import default_model

    pairs: list[tuple[str, Path]] = []
    for name in engines:
        if name == "auto":
            for model in models or [default_model("auto")]:
                pairs.append((resolve_engine("auto", model).name, model))
            continue
        engine = get_engine(name)
        if not engine.auto:
            engine.load(models[0] if models else Path("default"))  # reserved: raises its explanation
        reason = unavailable(engine)
        if reason is not None:  # before any engine runs: no half-finished comparison
            raise UserError(f"--engine {name}: {reason}")
        if not models:
            pairs.append((name, default_model(name)))
            continue
        found = next((m for m in models if engine.accepts(m)), None)
        if found is None:
            siblings = [models[0].with_suffix(s) for s in engine.suffixes]
            found = next((s for s in siblings if s.is_file()), None)
        if found is None:
            raise UserError(
                f"--engine {name} runs {' / '.join(engine.suffixes)} files and none was given; add one as MODEL "
                f"(e.g. inpaint bench {models[0]} {siblings[0]} --engine ...)"
            )
        pairs.append((name, found))
    return pairs


def _split(values: list[str]) -> list[str]:
    names = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return list(dict.fromkeys(names)) or ["auto"]


def bench(
    models: Optional[List[Path]] = typer.Argument(None, help="Model files (.onnx, .safetensors).", show_default="the bundled model"),
    engine: List[str] = typer.Option(["auto"], "--engine", "-e", help="Engines to compare: a comma list or repeated (trt,onnx,torch)."),
    size: int = typer.Option(512, "--size", help="Square input side in pixels (rounded up to the model's stride)."),
    batch: int = typer.Option(1, "--batch", "-b", help="Pictures per inference."),
    warmup: int = typer.Option(2, "--warmup", help="Untimed iterations first."),
    iterations: int = typer.Option(10, "--iterations", "-n", help="Timed iterations (the median is reported)."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available) | cpu | cuda."),
) -> None:
    """Median latency, images/s and peak memory of one or several engines, each in its own process."""
    from rich.console import Console

    from inpaint.runtime.bench import bench_subprocess

    if size < 1 or batch < 1 or warmup < 0 or iterations < 1:
        raise UserError("need --size >= 1, --batch >= 1, --warmup >= 0 and --iterations >= 1")
    pairs = pair_models(list(models or []), _split(engine))
    console = Console()
    if not console.is_terminal:  # a pipe or a file: wide enough for every column
        console = Console(width=max(console.width, 160))
    results = []
    for name, model in pairs:
        with console.status(f"{name}: {model.name} ..."):
            results.append(bench_subprocess(model, name, size, batch, warmup, iterations, device))
    console.print(results_table(results))
    first = results[0]
    for r in results[1:]:
        ratio = r.latency_ms / first.latency_ms
        console.print(f"speed {first.engine} / {r.engine}: {ratio:.2f}x ({first.latency_ms:.1f} ms vs {r.latency_ms:.1f} ms per batch)")


def results_table(results):
    """A rich Table: one row per result, speed relative to the first row."""
    from rich.table import Table

    first = results[0]
    table = Table(title=f"inpaint bench: {first.height}x{first.width}, batch {first.batch}, "
                        f"median of {first.iterations} after {first.warmup} warm-up")
    for column in ("engine", "model", "device", "latency ms", "images/s", "load MB", "infer MB", "CUDA MB", f"speed vs {first.engine}"):
        table.add_column(column, justify="left" if column in ("engine", "model", "device") else "right")
    for r in results:
        table.add_row(
            r.engine, Path(r.model).name, r.device, f"{r.latency_ms:.1f}", f"{r.images_per_s:.2f}", f"{r.load_mb:.0f}",
            f"{r.infer_mb:.0f}", "-" if r.cuda_mb is None else f"{r.cuda_mb:.0f}", f"{first.latency_ms / r.latency_ms:.2f}x",
        )
    return table
