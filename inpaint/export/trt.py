"""Build a TensorRT engine file from an exported ``.onnx`` (Polygraphy's loaders), and the shapes it is built for.

    header = build_engine("madf.onnx", "madf.engine", precision="fp16", shapes=parse_shapes("1x512x512,1x512x512,4x1024x1024", 128))

One optimisation profile covers every input: ``image`` (N, 3, H, W) and ``mask`` (N, 1, H, W) get the same
N, H and W, given as ``MIN,OPT,MAX`` with each ``NxHxW`` (H and W multiples of the model's stride).
The written file (:mod:`inpaint.export.engine_file`) carries the ONNX ``metadata_props`` plus the TensorRT
version, compute capability, precision, profiles and plugin version, so ``inpaint run model.engine`` needs
nothing else.

Precision (TENSORRT.md, "TensorRT 10 vs 11"):

    graph (inpaint.precision)   requested       TensorRT 10.x (>= 10.9)          TensorRT 11.x
    fp32                        fp32            as is (TF32 off)                 as is
    fp32                        fp16 / bf16     builder flag FP16 / BF16         refused: 11 is strongly typed,
                                                                                 export an fp16 / bf16 graph
    fp16 / bf16                 same (or none)  strongly typed network           as is (always strongly typed)

Only :func:`build_plan` touches TensorRT and Polygraphy; everything before it (shapes, precision, the
graph's operators, the metadata) is plain Python that the tests run here.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from inpaint._hashing import file_sha256
from inpaint._lazy import require
from inpaint.errors import UserError
from inpaint.export import contract as C
from inpaint.export import engine_file as E
from inpaint.ops.dynamic_conv.contract import DOMAIN  # "inpaint", every custom operator's domain

__all__ = [
    "PRECISIONS", "MIN_TRT", "DFT_TRT", "Shapes", "parse_shapes", "default_shapes", "version_tuple",
    "resolve_precision", "check_graph_ops", "read_onnx", "file_sha256", "build_plan", "build_engine",
    "KEY_GRAPH_PRECISION", "activation_bytes", "default_max", "cuda_graph_blocker",
]

log = logging.getLogger("inpaint.export")

PRECISIONS = ("fp32", "fp16", "bf16")
#: oldest TensorRT this builds for: quickly deployable plugins with ``aot_impl`` (TENSORRT.md)
MIN_TRT = (10, 9)
#: first TensorRT whose ONNX parser has DFT (a cuFFT plugin; TENSORRT.md, onnx-tensorrt operators.md)
DFT_TRT = (11, 2)
#: from this version the ONNX parser takes a plugin's namespace from the node's domain (before: attribute only)
NAMESPACE_FROM_DOMAIN_TRT = (10, 10)
#: from this major version every network is strongly typed and the FP16 / BF16 builder flags are gone
STRONGLY_TYPED_MAJOR = 11
#: the graph's own precision, written by ``inpaint export --engine onnx --precision`` (absent = fp32)
KEY_GRAPH_PRECISION = getattr(C, "KEY_PRECISION", "inpaint.precision")
#: default profile where the GPU's memory is unknown: up to this many pictures of up to this side per batch
DEFAULT_MAX_BATCH, DEFAULT_MAX_SIDE = 4, 2048
#: the default profile's maxima tried where the GPU's memory is known, largest side first, then largest batch
DEFAULT_SIDES, DEFAULT_BATCHES = (2048, 1536, 1024, 768, 512), (4, 2, 1)
#: channels of the widest full-resolution activation of the bundled models: MADF's last refinement level
#: concatenates a 64-channel feature, two 3-channel outputs and the 6-channel input (76; DESIGN.md), FAR's ACR
#: starts with a 64-channel 7x7 conv (the review's ~4.3 GB for 4 x 2048 x 2048 in float32 is that tensor alone)
FULL_RES_CHANNELS = 76
#: full-resolution tensors alive at once in the estimate (a layer's input and output and one skip): an estimate,
#: not a TensorRT figure; TensorRT's own is ``ICudaEngine.device_memory_size_v2`` of the built engine
LIVE_TENSORS = 3
#: share of the GPU's memory the default profile's activations may take (the rest: weights, workspace, other work)
MEMORY_SHARE = 0.5
#: graph operators whose output shape depends on the data: TensorRT cannot capture such an engine in a CUDA graph
#: (Torch-TensorRT's CUDA graph limitations: "not compatible with ... data-dependent shapes (nonzero)")
DATA_DEPENDENT_OPS = ("NonZero", "NonMaxSuppression", "Unique")

Shape = tuple[int, int, int]  # (N, H, W)


@dataclass(frozen=True)
class Shapes:
    """One optimisation profile: min <= opt <= max, each (N, H, W); H, W multiples of the stride."""

    min: Shape
    opt: Shape
    max: Shape

    def profile(self) -> dict[str, list[list[int]]]:
        """{"image": [min, opt, max] as NCHW lists, "mask": same with C = 1} (the engine file's KEY_PROFILES entry)."""
        return {
            C.INPUT_IMAGE: [[n, 3, h, w] for n, h, w in (self.min, self.opt, self.max)],
            C.INPUT_MASK: [[n, 1, h, w] for n, h, w in (self.min, self.opt, self.max)],
        }

    def text(self) -> str:
        return ",".join("x".join(str(v) for v in s) for s in (self.min, self.opt, self.max))

    def contains(self, n: int, h: int, w: int) -> bool:
        return all(lo <= v <= hi for lo, v, hi in zip(self.min, (n, h, w), self.max))

    @classmethod
    def from_profile(cls, profile: dict) -> Shapes:
        """Inverse of :meth:`profile` (reads the ``image`` entry)."""
        lo, opt, hi = ((s[0], s[2], s[3]) for s in profile[C.INPUT_IMAGE])
        return cls(tuple(lo), tuple(opt), tuple(hi))


_SHAPE = re.compile(r"^\s*(\d+)\s*x\s*(\d+)\s*x\s*(\d+)\s*$")


def parse_shapes(text: str, stride: int, where: str = "--shapes") -> Shapes:
    """``"MIN,OPT,MAX"``, each ``NxHxW`` (e.g. ``1x256x256,1x512x512,4x1024x1024``) -> :class:`Shapes`.

    Raises UserError for a malformed value, zero sizes, H/W not multiples of ``stride``, or min > opt > max.
    """
    parts = [p for p in text.split(",")]
    if len(parts) != 3:
        raise UserError(f"{where} {text}: give three shapes MIN,OPT,MAX, each NxHxW (e.g. 1x{stride * 2}x{stride * 2},1x{stride * 4}x{stride * 4},4x{stride * 8}x{stride * 8})")
    shapes = []
    for part in parts:
        m = _SHAPE.match(part)
        if not m:
            raise UserError(f"{where} {text}: '{part}' is not NxHxW (batch x height x width, e.g. 1x512x512)")
        n, h, w = (int(v) for v in m.groups())
        if min(n, h, w) < 1:
            raise UserError(f"{where} {text}: '{part}' has a zero size; N, H and W must be 1 or more")
        if h % stride or w % stride:
            raise UserError(f"{where} {text}: '{part}': H and W must be multiples of the model's stride {stride}")
        shapes.append((n, h, w))
    lo, opt, hi = shapes
    if not all(a <= b <= c for a, b, c in zip(lo, opt, hi)):
        raise UserError(f"{where} {text}: need MIN <= OPT <= MAX in each of N, H and W")
    return Shapes(lo, opt, hi)


def activation_bytes(n: int, h: int, w: int, precision: str = "fp32") -> int:
    """Estimated activation memory (bytes) of an execution context whose profile max is ``n x h x w``:
    ``n*h*w * FULL_RES_CHANNELS * LIVE_TENSORS * (4 bytes, 2 for fp16/bf16)``. TensorRT allocates a context's
    activations for its profile's MAX shape, whatever size is run (e.g. 1 x 1024 x 1024 fp32: 0.96 GB)."""
    return int(n) * int(h) * int(w) * FULL_RES_CHANNELS * LIVE_TENSORS * (2 if precision in ("fp16", "bf16") else 4)


def default_max(gpu_memory_mb: int | None, precision: str = "fp32") -> tuple[int, int]:
    """(batch, side) of the default profile's max: the largest side of :data:`DEFAULT_SIDES`, then batch of
    :data:`DEFAULT_BATCHES`, whose :func:`activation_bytes` fit :data:`MEMORY_SHARE` of the GPU's memory;
    (:data:`DEFAULT_MAX_BATCH`, :data:`DEFAULT_MAX_SIDE`) when the memory is unknown."""
    if not gpu_memory_mb:
        return DEFAULT_MAX_BATCH, DEFAULT_MAX_SIDE
    budget = MEMORY_SHARE * int(gpu_memory_mb) * (1 << 20)
    for side in DEFAULT_SIDES:
        for batch in DEFAULT_BATCHES:
            if activation_bytes(batch, side, side, precision) <= budget:
                return batch, side
    return 1, DEFAULT_SIDES[-1]


def default_shapes(stride: int, train_size: int, gpu_memory_mb: int | None = None, precision: str = "fp32",
                   max_side: int | None = None, max_batch: int | None = None) -> Shapes:
    """1 x stride x stride .. 1 x train_size (the opt) .. B x S x S, all rounded up to the stride.

    B x S: ``max_batch`` / ``max_side`` when given (``--max-batch`` / ``--max-side``), else :func:`default_max`
    for a GPU of ``gpu_memory_mb`` (4 x 2048 when unknown).
    """
    up = lambda v: -(-max(v, stride) // stride) * stride  # noqa: E731
    batch, side = default_max(gpu_memory_mb, precision)
    batch, side = int(max_batch or batch), int(max_side or side)
    if batch < 1 or side < 1:
        raise UserError(f"--max-batch {batch} / --max-side {side}: give sizes of 1 or more")
    opt, top = up(train_size or stride), up(side)
    top = max(top, opt)
    return Shapes((1, stride, stride), (1, opt, opt), (batch, top, top))


def cuda_graph_blocker(op_types: set[tuple[str, str]]) -> str:
    """"" when an engine of a graph with these nodes can be captured in a CUDA graph, else why not (one line)."""
    found = sorted(op for domain, op in op_types if domain in ("", "ai.onnx") and op in DATA_DEPENDENT_OPS)
    if not found:
        return ""
    return f"the graph has {', '.join(found)} (data-dependent shapes), which TensorRT cannot capture in a CUDA graph"


def version_tuple(version: str) -> tuple[int, int]:
    """"10.13.3.9" -> (10, 13); unparsable parts count as 0."""
    nums = [int(p) if p.isdigit() else 0 for p in (version.split(".") + ["0", "0"])[:2]]
    return nums[0], nums[1]


def resolve_precision(requested: str | None, graph: str, trt_version: str, path: str | Path = "") -> tuple[str, dict]:
    """(engine precision, Polygraphy flags) for a graph of precision ``graph`` (see the module table).

    requested: "fp32" | "fp16" | "bf16" | None (= the graph's own). The flags are keyword arguments:
    ``strongly_typed`` for ``NetworkFromOnnxPath``, ``fp16`` / ``bf16`` for ``CreateConfig``.
    """
    for value, name in ((requested, "--precision"), (graph, f"{path}: graph precision")):
        if value is not None and value not in PRECISIONS:
            raise UserError(f"{name} {value}: choose one of {', '.join(PRECISIONS)}")
    requested = requested or graph
    major = version_tuple(trt_version)[0]
    typed = major >= STRONGLY_TYPED_MAJOR
    if graph != "fp32":
        if requested != graph:
            raise UserError(
                f"{path}: this is an {graph} graph, so it builds an {graph} engine; for --precision {requested} export the "
                f"model again with 'inpaint export CKPT --engine onnx --precision {requested}'"
            )
        return graph, {} if typed else {"strongly_typed": True}
    if requested == "fp32":
        return "fp32", {}
    if typed:
        raise UserError(
            f"{path}: TensorRT {trt_version} builds strongly typed networks only, so --precision {requested} needs an "
            f"{requested} graph: export it with 'inpaint export CKPT --engine onnx --precision {requested}', or give the "
            "checkpoint itself to 'inpaint export CKPT --engine trt'"
        )
    return requested, {requested: True}


def check_graph_ops(op_types: set[tuple[str, str]], trt_version: str, path: str | Path) -> None:
    """Refuse a graph TensorRT cannot parse: DFT nodes before TensorRT 11.2. op_types: {(domain, op_type)}."""
    if ("", "DFT") in op_types and version_tuple(trt_version) < DFT_TRT:
        raise UserError(
            f"{path}: the graph has DFT nodes (an export for --target onnx-cpu), which TensorRT parses only from "
            f"{DFT_TRT[0]}.{DFT_TRT[1]}; this is TensorRT {trt_version}: export it with '--target trt'"
        )


def read_onnx(path: str | Path) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """(metadata_props, {(domain, op_type)} of every node) of an exported graph; UserError if it is not one."""
    onnx = require("onnx")
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such ONNX model; export one with 'inpaint export CKPT'")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and others for a non-ONNX file
        raise UserError(f"{path}: not a readable ONNX model ({type(exc).__name__}); export it again with 'inpaint export'") from exc
    meta = {p.key: p.value for p in proto.metadata_props}
    if C.KEY_STRIDE not in meta:
        raise UserError(f"{path}: no '{C.KEY_STRIDE}' metadata, so not a model written by 'inpaint export'; export the checkpoint with it")
    ops = {(n.domain, n.op_type) for n in proto.graph.node}
    for function in proto.functions:
        ops.update((n.domain, n.op_type) for n in function.node)
    return meta, ops


def _nodes_without_namespace(path: str | Path) -> int:
    """How many custom-domain nodes lack the string attribute ``plugin_namespace`` (TensorRT 10.9's parser needs it)."""
    onnx = require("onnx")
    proto = onnx.load(str(path), load_external_data=False)
    return sum(1 for n in proto.graph.node
               if n.domain == DOMAIN and not any(a.name == "plugin_namespace" for a in n.attribute))


def build_plan(onnx_path: str | Path, shapes: Shapes, flags: dict, workspace_gib: float | None = None,
               timing_cache: str | Path | None = None) -> bytes:
    """The serialised TensorRT engine for ``onnx_path`` (the one function here that runs TensorRT).

    flags: from :func:`resolve_precision`. timing_cache: loaded when it exists, saved (merged) after the build.
    """
    trt = require("tensorrt")
    from polygraphy.backend.trt import CreateConfig, EngineBytesFromNetwork, NetworkFromOnnxPath, Profile
    from polygraphy.exception import PolygraphyException

    profile = Profile()
    for name, (lo, opt, hi) in shapes.profile().items():
        profile.add(name, lo, opt, hi)
    config_args = {k: v for k, v in flags.items() if k in ("fp16", "bf16")}
    if workspace_gib is not None:
        config_args["memory_pool_limits"] = {trt.MemoryPoolType.WORKSPACE: int(workspace_gib * (1 << 30))}
    cache = str(timing_cache) if timing_cache else None
    network = NetworkFromOnnxPath(str(onnx_path), strongly_typed=flags.get("strongly_typed"))
    config = CreateConfig(profiles=[profile], load_timing_cache=cache, **config_args)
    try:
        plan = EngineBytesFromNetwork(network, config, save_timing_cache=cache)()
    except PolygraphyException as exc:  # parse errors, "Plugin not found", an engine that failed to build
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"{onnx_path}: TensorRT could not build an engine ({first}); run with --debug for TensorRT's log, "
            "or try the standard-op graph (--ops standard)"
        ) from exc
    return bytes(plan)


def _register_plugins(custom_ops: set[str], path: Path) -> str:
    """Register the plugins a plugin graph needs (before parsing); returns :func:`plugin_version`."""
    from inpaint.ops import trt_plugins

    try:
        registered = set(trt_plugins.register_all())
    except ImportError as exc:
        raise UserError(f"{path}: the TensorRT plugin modules cannot be imported ({exc}); export with --ops standard") from exc
    missing = sorted(op for op in custom_ops if f"{DOMAIN}::{op}" not in registered)
    if missing:
        raise UserError(
            f"{path}: no TensorRT plugin registered for {', '.join(missing)} (tensorrt.plugin needs TensorRT >= 10.9 and "
            "triton: pip install 'inpaint-toolkit[trt]'); or export the model with --ops standard"
        )
    return trt_plugins.plugin_version()


def build_engine(onnx_path: str | Path, out: str | Path, *, precision: str | None = None, shapes: Shapes | None = None,
                 workspace_gib: float | None = None, timing_cache: str | Path | None = None,
                 trt_version: str | None = None, compute_capability: str | None = None, driver: str | None = None,
                 gpu_memory_mb: int | None = None, extra_metadata: dict[str, str] | None = None,
                 plan_builder=build_plan) -> dict[str, str]:
    """Build ``onnx_path`` into the engine file ``out`` (atomic); returns the header written.

    precision: None = the graph's own. shapes: None = :func:`default_shapes` of the model (for the GPU's memory).
    trt_version / compute_capability / driver / gpu_memory_mb: default = this machine's (``tensorrt.__version__``,
    GPU 0 and the driver through :mod:`inpaint._cuda`). The plugin kernels are compiled for that compute
    capability at the PTX ISA it takes, capped by ``driver`` (:mod:`inpaint.ops.triton_aot`); the header records
    the ISA and the driver it needs.
    plan_builder: :func:`build_plan` (the tests pass a stand-in). Raises UserError for a graph or option
    TensorRT cannot take (see the module docstring).
    """
    onnx_path, out = Path(onnx_path), Path(out)
    meta, ops = read_onnx(onnx_path)
    if trt_version is None:
        trt_version = str(require("tensorrt").__version__)
    if version_tuple(trt_version) < (10, 0):
        raise UserError(f"TensorRT {trt_version} is too old; inpaint builds engines with TensorRT >= {MIN_TRT[0]}.{MIN_TRT[1]} (pip install 'inpaint-toolkit[trt]')")
    if compute_capability is None:
        from inpaint._cuda import driver_info

        info = driver_info()
        if not info.available:
            raise UserError(f"--engine trt: {info.reason}")
        compute_capability = info.gpus[0].compute_capability
        driver = info.driver if driver is None else driver
        gpu_memory_mb = info.gpus[0].memory_mb if gpu_memory_mb is None else gpu_memory_mb
    check_graph_ops(ops, trt_version, onnx_path)
    engine_precision, flags = resolve_precision(precision, meta.get(KEY_GRAPH_PRECISION, "fp32"), trt_version, onnx_path)
    stride = int(meta[C.KEY_STRIDE])
    shapes = shapes or default_shapes(stride, int(meta.get(C.KEY_TRAIN_SIZE, "0") or 0), gpu_memory_mb, engine_precision)
    for shape in (shapes.min, shapes.opt, shapes.max):
        if shape[1] % stride or shape[2] % stride:
            raise UserError(f"--shapes {shapes.text()}: H and W must be multiples of the model's stride {stride}")
    custom = {op for domain, op in ops if domain == DOMAIN}
    plugins = ""
    if custom:
        if version_tuple(trt_version) < MIN_TRT:
            raise UserError(
                f"{onnx_path}: plugin graphs need TensorRT >= {MIN_TRT[0]}.{MIN_TRT[1]} (aot_impl); this is {trt_version}: "
                "upgrade TensorRT or export with --ops standard"
            )
        if version_tuple(trt_version) < NAMESPACE_FROM_DOMAIN_TRT and _nodes_without_namespace(onnx_path):
            raise UserError(
                f"{onnx_path}: TensorRT {trt_version} finds a plugin only through the node attribute 'plugin_namespace', "
                f"which this graph's {DOMAIN} nodes lack (the parser reads the node's domain from "
                f"{NAMESPACE_FROM_DOMAIN_TRT[0]}.{NAMESPACE_FROM_DOMAIN_TRT[1]}); upgrade TensorRT or export with --ops standard"
            )
    from inpaint.ops import triton_aot

    target = triton_aot.BuildTarget(triton_aot.arch_int(compute_capability), driver or "")
    isa = ""
    if custom:
        isa = triton_aot.isa_text(triton_aot.ptx_version(target.arch, target.driver))  # UserError before a long build
        plugins = _register_plugins(custom, onnx_path)
    log.info("building a TensorRT %s engine of %s for shapes %s (TensorRT %s, compute capability %s%s)",
             engine_precision, onnx_path.name, shapes.text(), trt_version, compute_capability, f", plugin PTX ISA {isa}" if isa else "")
    if custom:
        with triton_aot.targeting(target):  # aot_impl compiles for this GPU and driver, not Triton's idea of one
            plan = plan_builder(onnx_path, shapes, flags, workspace_gib, timing_cache)
    else:
        plan = plan_builder(onnx_path, shapes, flags, workspace_gib, timing_cache)
    header = dict(meta)
    header.update(extra_metadata or {})
    header.update({
        E.KEY_TRT_VERSION: trt_version,
        E.KEY_COMPUTE_CAPABILITY: compute_capability,
        E.KEY_PRECISION: engine_precision,
        E.KEY_PROFILES: json.dumps([shapes.profile()]),
        E.KEY_PLUGIN_VERSION: plugins,
        E.KEY_ONNX_SHA256: file_sha256(onnx_path),
        E.KEY_PTX_ISA: isa,
        E.KEY_MIN_DRIVER: triton_aot.min_driver(int(isa.replace(".", ""))) if isa else "",
        E.KEY_CUDA_GRAPH: cuda_graph_blocker(ops),
    })
    out.parent.mkdir(parents=True, exist_ok=True)
    E.write_engine_file(out, plan, header)
    return E.read_engine_header(out)
