"""``inpaint export CKPT -o model.onnx [--ops plugin|standard] [--precision fp32|fp16|bf16] [--target onnx-cpu|onnx-cuda|trt]
[--weights fp32|int8] [--opset N] [--verify]``, and
``inpaint export CKPT|MODEL.onnx --engine trt [--precision fp32|fp16|bf16] [--shapes MIN,OPT,MAX] [--workspace GiB]
[--timing-cache PATH] -o model.engine``.

Formats are a table (Ultralytics style): a row says the suffix and what it needs. A TensorRT engine is
built from an ``.onnx`` directly, or from a checkpoint through a temporary ONNX export (target ``trt``).
"""

from __future__ import annotations

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
    Engine.onnx: (".onnx", "onnx, onnxscript (pip install 'inpaint-toolkit[export]')"),
    Engine.trt: (".engine", "TensorRT >= 10.9 and an NVIDIA GPU (pip install 'inpaint-toolkit[trt]')"),
}
#: suffixes ``inpaint run`` reads as TensorRT engine files
ENGINE_SUFFIXES = (".engine", ".plan")


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


class Weights(str, Enum):
    """How ``--engine onnx`` stores the large MatMul weights (:mod:`inpaint.export.weights`)."""

    fp32 = "fp32"
    int8 = "int8"


class Precision(str, Enum):
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"


def export(
    checkpoint: Path = typer.Argument(..., help="A .safetensors checkpoint (from 'inpaint train' or 'inpaint convert'); for --engine trt also an .onnx from 'inpaint export'."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output file.", show_default="CKPT with the engine's suffix"),
    engine: Engine = typer.Option(Engine.onnx, help="onnx: an ONNX graph; trt: a TensorRT engine."),
    ops: Ops = typer.Option(Ops.plugin, help="plugin: one custom node per custom operator (domain 'inpaint'); standard: standard ONNX ops only."),
    opset: Optional[int] = typer.Option(None, help="ONNX opset, 18 or newer.", show_default="18; 22 for bf16"),
    verify: bool = typer.Option(
        False, "--verify", help="Compare ONNX Runtime with PyTorch on random and real inputs; fail above 1e-4 (fp16/bf16, int8 weights: below 40 dB PSNR in the holes)."
    ),
    precision: Optional[Precision] = typer.Option(
        None, "--precision", help="onnx: fp16/bf16 graphs compute in that type, with normalisation, softmax, DFT and mask arithmetic in float32 "
        "(for TensorRT 11). trt: engine precision.", show_default="onnx: fp32; trt: the graph's own, fp32 from a checkpoint",
    ),
    weights: Weights = typer.Option(
        Weights.fp32, "--weights", help="onnx: int8 stores the large MatMul weights (FAR's MAE) in 8-bit blocks, run as ONNX Runtime's "
        "MatMulNBits (FAR: 613 -> 290 MB of weights, output within ~1e-5); convolutions stay float32. Not for TensorRT."),
    target: Optional[Target] = typer.Option(
        None, help="onnx: the runtime to lower for: onnx-cpu (FFTs as ONNX DFT nodes), onnx-cuda or trt (FFTs as DFT-matrix "
        "products, runs everywhere; onnx-cuda was measured faster on the CPU too); --engine trt always uses trt.", show_default="onnx-cuda"),
    shapes: Optional[str] = typer.Option(None, "--shapes", help="trt: MIN,OPT,MAX as NxHxW (e.g. 1x256x256,1x512x512,4x1024x1024; default: 1 x stride .. 1 x train size .. the largest of 4 x 2048 .. 1 x 512 whose activations fit half the GPU's memory)."),
    max_side: Optional[int] = typer.Option(None, "--max-side", help="trt: the default profile's largest H and W (activations ~0.9 GB per 1024 x 1024 picture in fp32, half in fp16; docs/tensorrt.md).", show_default="fits the GPU"),
    max_batch: Optional[int] = typer.Option(None, "--max-batch", help="trt: the default profile's largest batch (memory grows with it linearly).", show_default="fits the GPU"),
    workspace: Optional[float] = typer.Option(None, "--workspace", help="trt: builder workspace limit in GiB.", show_default="TensorRT's"),
    timing_cache: Optional[Path] = typer.Option(None, "--timing-cache", help="trt: tactic timing cache file, loaded when present and saved after the build."),
) -> None:
    """Export a checkpoint to ONNX (custom-op or standard-op graph), optionally verified against PyTorch, or build a TensorRT engine."""
    if engine == Engine.trt:
        if target not in (None, Target.trt):
            raise UserError(f"--target {target.value}: a TensorRT engine is built from the trt target's graph; leave --target out")
        if weights != Weights.fp32:
            raise UserError(f"--weights {weights.value}: TensorRT has no MatMulNBits node; use --precision fp16 for smaller engine weights")
        if shapes is not None and (max_side is not None or max_batch is not None):
            raise UserError("--shapes sets the whole profile; leave --max-side / --max-batch out, or give them instead of --shapes")
        return _export_engine(checkpoint, output, ops, opset, precision.value if precision else None, shapes, workspace, timing_cache,
                              max_side, max_batch)
    trt_only = [flag for flag, value in (("--shapes", shapes), ("--max-side", max_side), ("--max-batch", max_batch), ("--workspace", workspace),
                                         ("--timing-cache", timing_cache)) if value is not None]
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
    target = target or DEFAULT_TARGETS[engine.value]
    export_onnx(model, tmp, ops=ops.value, opset=opset, checkpoint_sha256=file_sha256(checkpoint),
                precision=graph_precision, target=target.value, weights=weights.value)
    try:
        if verify:
            from inpaint.export.verify import verify_onnx

            for case in verify_onnx(model, tmp):
                psnr = "" if graph_precision == weights.value == "fp32" else f"  hole PSNR {case.psnr_db:.1f} dB ({case.mode})"
                typer.echo(f"  verify {case.name:<18} {str(case.shape):<18} max abs err {case.max_abs_err:.2e}{psnr}")
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
    size = output.stat().st_size / 2**20
    typer.echo(f"export success: {output} ({engine.value}, ops {ops.value}, {graph_precision}, weights {weights.value}, opset {opset}, target {target.value}, {size:.1f} MiB, {time.perf_counter() - t:.1f} s{', verified' if verify else ''})")


def _export_engine(source: Path, output: Optional[Path], ops: Ops, opset: Optional[int], precision: Optional[str], shapes: Optional[str],
                   workspace: Optional[float], timing_cache: Optional[Path], max_side: Optional[int] = None,
                   max_batch: Optional[int] = None) -> None:
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
            export_onnx(load_model(source), onnx_path, ops=ops.value, opset=opset, checkpoint_sha256=file_sha256(source),
                        precision=precision or "fp32", target=Target.trt.value)
        meta, _ = read_onnx(onnx_path)
        profile = parse_shapes(shapes, int(meta[C.KEY_STRIDE])) if shapes else None
        if max_side is not None or max_batch is not None:
            from inpaint._cuda import driver_info
            from inpaint.export.trt import KEY_GRAPH_PRECISION, default_shapes

            gpus = driver_info().gpus
            profile = default_shapes(int(meta[C.KEY_STRIDE]), int(meta.get(C.KEY_TRAIN_SIZE, "0") or 0), gpus[0].memory_mb if gpus else None,
                                     precision or meta.get(KEY_GRAPH_PRECISION, "fp32"), max_side=max_side, max_batch=max_batch)
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


def export_texture(
    output: Path = typer.Option(Path("texture.onnx"), "-o", "--output", help="Output .onnx."),
    size: str = typer.Option("256x256", "--size", help="WxH of the windows it will see (multiples of 64): the model's working size, padded to its stride."),
    ops: Ops = typer.Option(Ops.plugin, help="plugin: the paste as inpaint::MaskedAttentionAggregate nodes (TensorRT plugin, ONNX Runtime kernel); standard: standard ONNX ops only."),
    strength: Optional[float] = typer.Option(None, "--strength", help="Texture strength baked into the graph.", show_default="the runtime's, as --texture on"),
) -> None:
    """The texture stage (step 1, at the working size) as an ONNX graph: inputs image, mask, fill (the network's
    output), output textured. For pipelines that run the network on a GPU and want the stage there too;
    'inpaint run' needs no such file (it runs the stage itself, on every engine)."""
    from inpaint.export.texture import export_texture_onnx
    from inpaint.runtime.texture import check_texture

    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise UserError(f"--size {size}: give WxH, e.g. 256x256") from None
    if strength is not None:
        check_texture(strength)
    t = time.perf_counter()
    path = export_texture_onnx(output, size=(h, w), ops=ops.value, strength=strength)
    typer.echo(f"{path} ({path.stat().st_size / 1e6:.1f} MB, {ops.value} ops, {w}x{h}) in {time.perf_counter() - t:.1f} s")
