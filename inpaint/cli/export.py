"""``inpaint export CKPT -o model.onnx [--ops plugin|standard] [--target onnx-cpu|onnx-cuda|trt] [--opset N] [--verify]``.

Formats are a table (Ultralytics style): a row says the suffix and what it needs.
"""

from __future__ import annotations

import time
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from inpaint.errors import UserError


class Engine(str, Enum):
    onnx = "onnx"
    trt = "trt"


class Ops(str, Enum):
    plugin = "plugin"
    standard = "standard"


class Target(str, Enum):
    """The runtime the graph is lowered for (:data:`inpaint.export.contract.TARGETS`; FAR's FFTs differ)."""

    onnx_cpu = "onnx-cpu"
    onnx_cuda = "onnx-cuda"
    trt = "trt"


#: --target when not given, per engine. --engine onnx: the DFT-matrix form (onnx-cuda), which runs on every ONNX
#: Runtime provider and, profiled on FAR at 512 x 512 on the CPU, is faster there too than ONNX Runtime 1.31's DFT
#: kernel (the 72 DFT nodes took 19 % of the graph's time, the matrix products ~4 %; README "FAR on the CPU").
#: --engine trt: trt (the DFT-matrix form; TensorRT's parser reads DFT only from 11.2).
DEFAULT_TARGETS = {"onnx": Target.onnx_cuda, "trt": Target.trt}


#: engine -> (file suffix, what it needs)
FORMATS = {
    Engine.onnx: (".onnx", "onnx, onnxscript (pip install 'inpaint[export]')"),
    Engine.trt: (".engine", "TensorRT >= 10.10 and an NVIDIA GPU"),
}


def export(
    checkpoint: Path = typer.Argument(..., help="A .safetensors checkpoint (from 'inpaint train' or 'inpaint convert')."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output file [default: CKPT with the engine's suffix]."),
    engine: Engine = typer.Option(Engine.onnx, help="onnx: an ONNX graph; trt: a TensorRT engine."),
    ops: Ops = typer.Option(Ops.plugin, help="plugin: one custom node per custom operator (domain 'inpaint'); standard: standard ONNX ops only."),
    target: Optional[Target] = typer.Option(
        None, help="Runtime to lower for: onnx-cpu (FFTs as ONNX DFT nodes), onnx-cuda or trt (FFTs as DFT-matrix products, "
        "runs everywhere) [default: onnx-cuda for --engine onnx (measured faster on the CPU too), trt for --engine trt]."),
    opset: int = typer.Option(18, help="ONNX opset (18 or newer)."),
    verify: bool = typer.Option(False, "--verify", help="Compare ONNX Runtime with PyTorch on random and real inputs; fail above 1e-4."),
) -> None:
    """Export a checkpoint to ONNX (custom-op or standard-op graph), optionally verified against PyTorch."""
    if engine == Engine.trt:
        raise UserError(
            "--engine trt: TensorRT engine building comes with the TensorRT plugin work and needs TensorRT >= 10.10 on an NVIDIA GPU; "
            "export --engine onnx --ops plugin now and build the engine with trtexec where TensorRT is installed"
        )
    from inpaint.export.onnx import export_onnx
    from inpaint.models.checkpoint import file_sha256, load_model

    suffix = FORMATS[engine][0]
    output = output or checkpoint.with_suffix(suffix)
    if output.resolve() == checkpoint.resolve():
        raise UserError(f"-o {output}: would overwrite the checkpoint; choose another output path")
    model = load_model(checkpoint)
    t = time.perf_counter()
    tmp = output.with_name(f".{output.stem}.unverified{suffix}")
    target = target or DEFAULT_TARGETS[engine.value]
    export_onnx(model, tmp, ops=ops.value, opset=opset, checkpoint_sha256=file_sha256(checkpoint), target=target.value)
    try:
        if verify:
            from inpaint.export.verify import verify_onnx

            for case in verify_onnx(model, tmp):
                typer.echo(f"  verify {case.name:<18} {str(case.shape):<18} max abs err {case.max_abs_err:.2e}")
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    size = output.stat().st_size / 2**20
    typer.echo(f"export success: {output} ({engine.value}, ops {ops.value}, target {target.value}, opset {opset}, {size:.1f} MiB, {time.perf_counter() - t:.1f} s{', verified' if verify else ''})")
