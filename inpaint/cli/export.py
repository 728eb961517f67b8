"""``inpaint export CKPT -o model.onnx [--ops plugin|standard] [--precision fp32|fp16|bf16] [--opset N] [--verify]``, and
``inpaint export CKPT|MODEL.onnx --engine trt [--precision fp32|fp16|bf16] [--shapes MIN,OPT,MAX] [--workspace GiB]
[--timing-cache PATH] -o model.engine``.

Formats are a table (Ultralytics style): a row says the suffix and what it needs. A TensorRT engine is
built from an ``.onnx`` directly, or from a checkpoint through a temporary ONNX export (target ``trt``).
"""

from __future__ import annotations

import inspect
import json
import tempfile
import time
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from inpaint.errors import UserError
from inpaint.export import contract as C


class Engine(str, Enum):
    onnx = "onnx"
    trt = "trt"


class Ops(str, Enum):
    plugin = "plugin"
    standard = "standard"


#: engine -> (file suffix, what it needs)
FORMATS = {
    Engine.onnx: (".onnx", "onnx, onnxscript (pip install 'inpaint[export]')"),
    Engine.trt: (".engine", "TensorRT >= 10.9 and an NVIDIA GPU (pip install 'inpaint[trt]')"),
}
#: suffixes ``inpaint run`` reads as TensorRT engine files
ENGINE_SUFFIXES = (".engine", ".plan")


class Precision(str, Enum):
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"


def _onnx_kwargs(export_onnx, precision: str | None, target: str | None = None) -> dict:
    """``precision`` / ``target`` for :func:`export_onnx` where this version of it takes them."""
    params = inspect.signature(export_onnx).parameters
    kwargs = {}
    if precision and precision != "fp32":
        if "precision" not in params:
            raise UserError(f"--precision {precision}: this inpaint's ONNX exporter writes float32 graphs only")
        kwargs["precision"] = precision
    if target and "target" in params:
        kwargs["target"] = target
    return kwargs


def export(
    checkpoint: Path = typer.Argument(..., help="A .safetensors checkpoint (from 'inpaint train' or 'inpaint convert'); for --engine trt also an .onnx from 'inpaint export'."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output file [default: CKPT with the engine's suffix]."),
    engine: Engine = typer.Option(Engine.onnx, help="onnx: an ONNX graph; trt: a TensorRT engine."),
    ops: Ops = typer.Option(Ops.plugin, help="plugin: one custom node per custom operator (domain 'inpaint'); standard: standard ONNX ops only."),
    opset: Optional[int] = typer.Option(None, help="ONNX opset, 18 or newer (default: 18; 22 for bf16)."),
    verify: bool = typer.Option(
        False, "--verify", help="Compare ONNX Runtime with PyTorch on random and real inputs; fail above 1e-4 (fp16/bf16: below 40 dB PSNR in the holes)."
    ),
    precision: Optional[Precision] = typer.Option(
        None, "--precision", help="onnx: fp16/bf16 graphs compute in that type, with normalisation, softmax, DFT and mask arithmetic in float32 "
        "(for TensorRT 11; default fp32). trt: engine precision (default: the graph's own; fp32 from a checkpoint)."
    ),
    shapes: Optional[str] = typer.Option(None, "--shapes", help="trt: MIN,OPT,MAX as NxHxW (e.g. 1x256x256,1x512x512,4x1024x1024; default: 1 x stride .. 1 x train size .. 4 x 2048)."),
    workspace: Optional[float] = typer.Option(None, "--workspace", help="trt: builder workspace limit in GiB (default: TensorRT's)."),
    timing_cache: Optional[Path] = typer.Option(None, "--timing-cache", help="trt: tactic timing cache file, loaded when present and saved after the build."),
) -> None:
    """Export a checkpoint to ONNX (custom-op or standard-op graph), optionally verified against PyTorch, or build a TensorRT engine."""
    if engine == Engine.trt:
        return _export_engine(checkpoint, output, ops, opset, precision.value if precision else None, shapes, workspace, timing_cache)
    trt_only = [flag for flag, value in (("--shapes", shapes), ("--workspace", workspace), ("--timing-cache", timing_cache)) if value is not None]
    if trt_only:
        raise UserError(f"{', '.join(trt_only)}: only for --engine trt")
    if checkpoint.suffix.lower() == ".onnx":
        raise UserError(f"{checkpoint}: already an ONNX graph; export the .safetensors checkpoint, or build an engine with --engine trt")
    from inpaint.export.onnx import default_opset, export_onnx
    from inpaint.models.checkpoint import file_sha256, load_model

    graph_precision = precision.value if precision else "fp32"
    opset = default_opset(graph_precision) if opset is None else opset
    suffix = FORMATS[engine][0]
    output = output or checkpoint.with_suffix(suffix)
    if output.resolve() == checkpoint.resolve():
        raise UserError(f"-o {output}: would overwrite the checkpoint; choose another output path")
    model = load_model(checkpoint)
    t = time.perf_counter()
    tmp = output.with_name(f".{output.stem}.unverified{suffix}")
    export_onnx(model, tmp, ops=ops.value, opset=opset, checkpoint_sha256=file_sha256(checkpoint),
                **_onnx_kwargs(export_onnx, graph_precision))
    try:
        if verify:
            from inpaint.export.verify import verify_onnx

            for case in verify_onnx(model, tmp):
                psnr = "" if graph_precision == "fp32" else f"  hole PSNR {case.psnr_db:.1f} dB ({case.mode})"
                typer.echo(f"  verify {case.name:<18} {str(case.shape):<18} max abs err {case.max_abs_err:.2e}{psnr}")
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    size = output.stat().st_size / 2**20
    typer.echo(f"export success: {output} ({engine.value}, ops {ops.value}, {graph_precision}, opset {opset}, {size:.1f} MiB, {time.perf_counter() - t:.1f} s{', verified' if verify else ''})")


def _export_engine(source: Path, output: Optional[Path], ops: Ops, opset: Optional[int], precision: Optional[str], shapes: Optional[str],
                   workspace: Optional[float], timing_cache: Optional[Path]) -> None:
    """``--engine trt``: TensorRT checked first (one line, exit 2, nothing written), then build into ``output``."""
    from inpaint.runtime.backends.trt import unavailable_reason

    output = output or source.with_suffix(FORMATS[Engine.trt][0])
    if output.suffix.lower() not in ENGINE_SUFFIXES:
        raise UserError(f"-o {output}: an engine file ends in {' or '.join(ENGINE_SUFFIXES)} (what 'inpaint run' reads as TensorRT)")
    if output.resolve() == source.resolve():
        raise UserError(f"-o {output}: would overwrite the input; choose another output path")
    if workspace is not None and workspace <= 0:
        raise UserError(f"--workspace {workspace}: give a positive size in GiB")
    if not source.is_file():
        raise UserError(f"{source}: no such file; give a .safetensors checkpoint or an .onnx from 'inpaint export'")
    reason = unavailable_reason()
    if reason is not None:
        raise UserError(f"--engine trt: {reason}; export --engine onnx here and build the engine where TensorRT and a GPU are")
    from inpaint.export.trt import build_engine, parse_shapes, read_onnx

    t = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="inpaint-export-") as tmp:
        onnx_path = source
        if source.suffix.lower() != ".onnx":
            from inpaint.export.onnx import default_opset, export_onnx
            from inpaint.models.checkpoint import file_sha256, load_model

            opset = default_opset(precision or "fp32") if opset is None else opset
            onnx_path = Path(tmp) / f"{source.stem}.onnx"
            # an exporter without fp16 graphs: a float32 graph, and build_engine applies the FP16 / BF16 builder
            # flag (TensorRT 10) or names the fix (TensorRT 11, strongly typed)
            graph_precision = precision if "precision" in inspect.signature(export_onnx).parameters else None
            export_onnx(load_model(source), onnx_path, ops=ops.value, opset=opset, checkpoint_sha256=file_sha256(source),
                        **_onnx_kwargs(export_onnx, graph_precision, "trt"))
        meta, _ = read_onnx(onnx_path)
        profile = parse_shapes(shapes, int(meta[C.KEY_STRIDE])) if shapes else None
        header = build_engine(onnx_path, output, precision=precision, shapes=profile, workspace_gib=workspace, timing_cache=timing_cache)
    from inpaint.export import engine_file as E
    from inpaint.export.trt import Shapes

    built = Shapes.from_profile(json.loads(header[E.KEY_PROFILES])[0]).text()
    size = output.stat().st_size / 2**20
    typer.echo(
        f"export success: {output} (trt {header[E.KEY_PRECISION]}, ops {header.get(C.KEY_OPS, '?')}, shapes {built}, "
        f"TensorRT {header[E.KEY_TRT_VERSION]}, compute capability {header[E.KEY_COMPUTE_CAPABILITY]}, {size:.1f} MiB, "
        f"{time.perf_counter() - t:.1f} s)"
    )
