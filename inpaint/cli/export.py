"""``inpaint export CKPT -o model.onnx [--ops plugin|standard] [--precision fp32|fp16|bf16] [--opset N] [--verify]``.

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


class Precision(str, Enum):
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"


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
    opset: Optional[int] = typer.Option(None, help="ONNX opset, 18 or newer (default: 18; 22 for bf16)."),
    precision: Precision = typer.Option(
        Precision.fp32, help="fp16/bf16: the network computes in that type, with normalisation, softmax, DFT and mask arithmetic in float32 (for TensorRT 11)."
    ),
    verify: bool = typer.Option(
        False, "--verify", help="Compare ONNX Runtime with PyTorch on random and real inputs; fail above 1e-4 (fp16/bf16: below 40 dB PSNR in the holes)."
    ),
) -> None:
    """Export a checkpoint to ONNX (custom-op or standard-op graph), optionally verified against PyTorch."""
    if engine == Engine.trt:
        raise UserError(
            "--engine trt: TensorRT engine building comes with the TensorRT plugin work and needs TensorRT >= 10.10 on an NVIDIA GPU; "
            "export --engine onnx --ops plugin now and build the engine with trtexec where TensorRT is installed"
        )
    from inpaint.export.onnx import default_opset, export_onnx
    from inpaint.models.checkpoint import file_sha256, load_model

    suffix = FORMATS[engine][0]
    output = output or checkpoint.with_suffix(suffix)
    if output.resolve() == checkpoint.resolve():
        raise UserError(f"-o {output}: would overwrite the checkpoint; choose another output path")
    model = load_model(checkpoint)
    t = time.perf_counter()
    tmp = output.with_name(f".{output.stem}.unverified{suffix}")
    opset = default_opset(precision.value) if opset is None else opset
    export_onnx(model, tmp, ops=ops.value, opset=opset, checkpoint_sha256=file_sha256(checkpoint), precision=precision.value)
    try:
        if verify:
            from inpaint.export.verify import verify_onnx

            for case in verify_onnx(model, tmp):
                psnr = "" if precision == Precision.fp32 else f"  hole PSNR {case.psnr_db:.1f} dB ({case.mode})"
                typer.echo(f"  verify {case.name:<18} {str(case.shape):<18} max abs err {case.max_abs_err:.2e}{psnr}")
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    size = output.stat().st_size / 2**20
    typer.echo(f"export success: {output} ({engine.value}, ops {ops.value}, {precision.value}, opset {opset}, {size:.1f} MiB, {time.perf_counter() - t:.1f} s{', verified' if verify else ''})")
