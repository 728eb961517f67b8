"""Compiling this package's Triton kernels to PTX for TensorRT's AOT plugins (``@trtp.aot_impl``); no GPU needed.

Four facts shape this module (read from the sources; ``shared/TENSORRT.md``, "Review findings"):

- **PTX ISA per target.** Triton emits the newest PTX ISA its bundled ``ptxas`` knows (9.4 for Triton 3.9),
  and a driver rejects PTX newer than itself when TensorRT loads the kernel, so the ISA is pinned, per target,
  to the lowest one that target accepts (:func:`ptx_version`: 8.7 up to sm_90 and for sm_100 / sm_120, 8.8 for
  sm_101 / sm_103 / sm_121, 9.0 for sm_110). Below that minimum Triton's LLVM backend aborts the whole process
  ("PTX version 8.7 does not support target 'sm_121a'", no Python exception), so the target is checked
  before anything is compiled, and a target outside the table is a :class:`~inpaint.errors.UserError` that
  names ``--ops standard`` (the standard-op graph needs no plugin kernels).
- **Driver cap.** The chosen ISA must be one the installed driver loads (:data:`ISA_MIN_DRIVER`: ISA 8.7 came
  with CUDA 12.8, 8.8 with 12.9, 9.0 with 13.0); a too-new PTX would fail only when the engine runs, as an
  opaque ``onShapeChange`` error (CUDA_ERROR_UNSUPPORTED_PTX_VERSION; Torch-TensorRT's ``kernels/_triton.py``
  caps ``ptx_version`` for the same reason). The engine header records the ISA and that driver.
- **The launch ABI.** TensorRT's AOT launch passes exactly: input pointers, the ``trtp.SymInt32`` extra
  arguments, output pointers, with the grid, block and dynamic shared memory the plugin returns
  (``tensorrt.plugin._plugin_class._TemplateAOTPlugin.get_launch_params``). It cannot give a kernel Blackwell
  tensor memory (``tmem_size``), thread-block clusters (``num_ctas`` != 1), programmatic dependent launch,
  a cooperative grid or TMA tensor descriptors: :func:`check_launch_metadata` refuses a compiled kernel that
  needs any of them. Triton >= 3.3 appends hidden pointer parameters to every ``.entry`` after the declared
  ones (``global_scratch``, and from 3.5 ``profile_scratch``); :func:`compile_to_ptx` checks that the kernel
  needs no scratch memory, that the hidden parameters are never referenced in the PTX body, and removes
  them, so the parameter list is exactly what TensorRT passes (trailing parameters: the others' offsets
  stay). Newer TensorRT releases are reported to pad missing trailing arguments with null; this does not
  rely on it.
- **Names.** Every kernel's ``.entry`` is renamed to a name unique per op, dtypes, tactic and attributes
  (:func:`kernel_name`), so no two different kernels of one engine share an entry name.

The compute capability and driver version come from the driver itself (:mod:`inpaint._cuda`, ctypes), which
the engine builder already asked: Triton's own ``driver.active.get_current_target()`` builds C helpers with
a compiler and ``Python.h`` on first use, which a ``[trt]`` install need not have.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Iterator

from inpaint.errors import UserError

#: the lowest PTX ISA (major*10 + minor) each target accepts, from LLVM's NVPTX backend as Triton 3.9 reports it
#: ("Minimum required PTX version is 8.8" for sm_121a, reproduced here) and the PTX ISA release notes: sm_101,
#: sm_103 and sm_121 came with ISA 8.8, sm_110 (Jetson Thor; CUDA 13's name for sm_101) with 9.0. Targets from
#: sm_75 to sm_90 take 8.7 too: the pin never goes below the CUDA 12.8 ISA.
_MIN_ISA = {100: 87, 101: 88, 103: 88, 110: 90, 120: 87, 121: 88}
#: sm_75 .. sm_90 (Turing .. Hopper) are served at the pin's floor, ISA 8.7
_FLOOR_ISA, _FLOOR_RANGE = 87, (75, 90)
#: PTX ISA -> the CUDA version whose toolkit introduced it, i.e. the oldest driver that loads it (PTX ISA
#: release notes: 8.7 = CUDA 12.8, 8.8 = CUDA 12.9, 9.0 = CUDA 13.0)
ISA_MIN_DRIVER = {87: (12, 8), 88: (12, 9), 90: (13, 0)}
#: targets with Blackwell tensor memory (tcgen05 MMA): Triton may give a kernel ``tmem_size`` > 0 there
TMEM_ARCHS = (100, 101, 103, 110)
#: PTX ISA of targets up to sm_90 (kept for callers that print the floor)
PTX_VERSION = _FLOOR_ISA

_ENTRY = re.compile(r"(?:\.visible\s+)?\.entry\s+(?P<name>[\w$]+)\s*\((?P<params>[^)]*)\)", re.S)
_PARAM = re.compile(
    r"\.param\s+(?P<type>\.[us]\d+|\.b\d+|\.f\d+)(?:\s+\.ptr)?(?:\s+\.(?:global|shared|const|local))?(?:\s+\.align\s+\d+)?\s+(?P<name>[\w$]+)"
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class CompiledKernel:
    """One kernel compiled to PTX: what ``aot_impl`` returns to TensorRT, besides the launch grid."""

    name: str  #: the ``.entry`` name (unique per op, dtypes, tactic and attributes: :func:`kernel_name`)
    ptx: str  #: PTX text, ISA :func:`ptx_version` of the target, ``.entry`` parameters = the declared ones
    num_warps: int  #: threads per block = 32 * num_warps
    shared: int  #: dynamic shared memory per block, bytes
    ptx_isa: int = _FLOOR_ISA  #: the ISA the PTX declares (87 = 8.7)


@dataclass(frozen=True)
class BuildTarget:
    """The GPU the plugin kernels are compiled for: compute capability as an int (89) and the driver's CUDA
    version ("12.8"; "" when unknown, then no driver cap)."""

    arch: int
    driver: str = ""


def arch_int(compute_capability: str) -> int:
    """"8.9" -> 89, "12.1" -> 121 (the driver's major.minor)."""
    major, _, minor = str(compute_capability).partition(".")
    return int(major) * 10 + int(minor or 0)


def isa_text(isa: int) -> str:
    """87 -> "8.7"."""
    return f"{isa // 10}.{isa % 10}"


def _version(text: str) -> tuple[int, int]:
    parts = (str(text).split(".") + ["0"])[:2]
    return tuple(int(p) if p.isdigit() else 0 for p in parts)  # type: ignore[return-value]


def ptx_version(arch: int, driver: str = "") -> int:
    """The PTX ISA to compile ``sm_<arch>`` kernels with: the lowest the target accepts, if ``driver`` loads it.

    Args:
        arch: compute capability as an int (80, 90, 100, 121, ...).
        driver: the CUDA version the installed driver supports ("12.8"), "" to skip the driver check.
    Returns:
        The ISA as major*10 + minor (87 = 8.7).
    Raises:
        UserError: a target outside the table (Triton's LLVM would abort the process, or the target is
            unknown to it), or a driver older than the ISA; each message names ``--ops standard``.
    """
    arch = int(arch)
    if arch in _MIN_ISA:
        isa = _MIN_ISA[arch]
    elif _FLOOR_RANGE[0] <= arch <= _FLOOR_RANGE[1]:
        isa = _FLOOR_ISA
    else:
        served = f"sm_{_FLOOR_RANGE[0]}..sm_{_FLOOR_RANGE[1]}, " + ", ".join(f"sm_{a}" for a in sorted(_MIN_ISA))
        raise UserError(
            f"sm_{arch}: inpaint's TensorRT plugin kernels are built for {served} only; build this GPU's engine "
            "from a standard-op graph (inpaint export CKPT --engine trt --ops standard)"
        )
    need = ISA_MIN_DRIVER[isa]
    if driver and _version(driver) < need:
        raise UserError(
            f"sm_{arch}: the plugin kernels need PTX ISA {isa_text(isa)}, which NVIDIA drivers for CUDA {need[0]}.{need[1]} "
            f"or later load; this driver supports CUDA {driver}: update the NVIDIA driver, or build from a standard-op "
            "graph (inpaint export CKPT --engine trt --ops standard)"
        )
    return isa


def min_driver(isa: int) -> str:
    """The oldest driver's CUDA version that loads PTX ISA ``isa`` ("12.8" for 87)."""
    major, minor = ISA_MIN_DRIVER[int(isa)]
    return f"{major}.{minor}"


_TARGET: list[BuildTarget] = []


@contextlib.contextmanager
def targeting(target: BuildTarget) -> Iterator[BuildTarget]:
    """Compile plugin kernels for ``target`` inside the block (the engine builder wraps its TensorRT build)."""
    ptx_version(target.arch, target.driver)  # refuse before TensorRT starts a build that would abort or fail late
    _TARGET.append(target)
    try:
        yield target
    finally:
        _TARGET.pop()


def build_target() -> BuildTarget:
    """The target of the enclosing :func:`targeting`, else GPU 0 and the driver, asked through ``inpaint._cuda``
    (never Triton's driver: it needs a C compiler and Python.h).

    Raises:
        UserError: no target set and no driver answers.
    """
    if _TARGET:
        return _TARGET[-1]
    from inpaint._cuda import driver_info

    info = driver_info()
    if not info.available:
        raise UserError(f"TensorRT plugin kernels: {info.reason}")
    return BuildTarget(arch_int(info.gpus[0].compute_capability), info.driver)


def kernel_name(op: str, dtypes, tactic: int, **attributes) -> str:
    """A PTX identifier unique per op, dtypes, tactic and attributes, e.g.
    ``inpaint_dynamic_conv_fp16_fp16_fp32_fp32_fp16_t2_k7_s2_p3``.

    attributes: ints or sequences of ints (1-element arrays too), in the op's declared order.
    """
    parts = ["inpaint", op, *dtypes, f"t{int(tactic)}"]
    for key, value in attributes.items():
        values = [int(v) for v in (value if hasattr(value, "__iter__") else [value])]
        parts.append(key + "x".join(str(v) for v in values).replace("-", "m"))
    name = "_".join(parts)
    if not _NAME.match(name):
        raise ValueError(f"kernel name {name!r} is not a PTX identifier")
    return name


def check_launch_metadata(meta, name: str = "") -> None:
    """Refuse a compiled kernel whose launch TensorRT's AOT path cannot make.

    ``meta``: Triton's ``CompiledKernel.metadata`` (fields read with defaults, so older Triton releases pass).
    Raises:
        RuntimeError: the kernel needs tensor memory, clusters, PDL, a cooperative grid or tensor descriptors.
    """
    problems = []
    if int(getattr(meta, "tmem_size", 0) or 0) > 0:
        problems.append(f"tmem_size={meta.tmem_size} (Blackwell tensor memory)")
    if int(getattr(meta, "num_ctas", 1) or 1) != 1:
        problems.append(f"num_ctas={meta.num_ctas} (thread-block clusters)")
    cluster = getattr(meta, "cluster_dims", None)
    if cluster is not None and tuple(cluster) not in ((), (1,), (1, 1, 1)):
        problems.append(f"cluster_dims={tuple(cluster)}")
    if getattr(meta, "launch_pdl", False):
        problems.append("launch_pdl (programmatic dependent launch)")
    if getattr(meta, "launch_cooperative_grid", False):
        problems.append("launch_cooperative_grid")
    if getattr(meta, "tensordesc_meta", None):
        problems.append("tensordesc_meta (TMA tensor descriptors)")
    if problems:
        raise RuntimeError(
            f"Triton kernel {name or getattr(meta, 'name', '?')} needs {', '.join(problems)}, which TensorRT's AOT plugin "
            "launch cannot provide; choose another tactic for this target"
        )


def rename_entry(ptx: str, name: str) -> str:
    """``ptx`` with its (single) ``.entry`` renamed to ``name`` (parameter names are local and stay)."""
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a PTX identifier")
    entries = list(_ENTRY.finditer(ptx))
    if len(entries) != 1:
        raise ValueError(f"expected one .entry in the PTX, found {len(entries)}")
    start, end = entries[0].span("name")
    return ptx[:start] + name + ptx[end:]


def entry_params(ptx: str) -> list[tuple[str, str]]:
    """(PTX type, name) of every parameter of the (single) ``.entry`` in ``ptx``, in order.

    Pointers are ``.u64``, int32 scalars ``.u32``/``.s32``/``.b32``.

    Raises:
        ValueError: no ``.entry``, or more than one.
    """
    entries = list(_ENTRY.finditer(ptx))
    if len(entries) != 1:
        raise ValueError(f"expected one .entry in the PTX, found {len(entries)}")
    params = entries[0].group("params")
    return [(m.group("type"), m.group("name")) for m in _PARAM.finditer(params)]


def strip_unused_trailing_params(ptx: str, keep: int) -> str:
    """Remove the ``.entry`` parameters after the first ``keep`` (Triton's hidden scratch pointers).

    Raises:
        ValueError: the ``.entry`` has fewer than ``keep`` parameters, or a removed one is referenced in the body.
    """
    match = _ENTRY.search(ptx)
    if match is None:
        raise ValueError("no .entry in the PTX")
    params = entry_params(ptx)
    if len(params) < keep:
        raise ValueError(f"the kernel's .entry has {len(params)} parameters, fewer than the {keep} declared")
    if len(params) == keep:
        return ptx
    body = ptx[match.end() :]
    for _, name in params[keep:]:
        if re.search(rf"\b{re.escape(name)}\b", body):
            raise ValueError(f"hidden parameter {name} is used by the kernel; TensorRT's AOT launch cannot pass it")
    declarations = [d.strip() for d in match.group("params").split(",")]
    new_params = "\n\t" + ",\n\t".join(declarations[:keep]) + "\n"
    start, end = match.span("params")
    return ptx[:start] + new_params + ptx[end:]


def compile_to_ptx(kernel, signature: dict[str, str], constexprs: dict, arch: int, num_warps: int, name: str | None = None,
                   driver: str = "") -> CompiledKernel:
    """Compile a ``@triton.jit`` kernel for ``sm_<arch>`` to PTX that TensorRT's AOT launch can call.

    Args:
        kernel: the JIT function (not under ``TRITON_INTERPRET=1``).
        signature: runtime parameter -> Triton type ("*fp32", "*fp16", "i32"), in the kernel's order, which
            must be TensorRT's: inputs, int32 extra arguments, outputs.
        constexprs: the kernel's ``tl.constexpr`` values.
        arch: compute capability as an int (80, 86, 89, 90, 100, 120, ...).
        num_warps: warps per block.
        name: the ``.entry`` name to give the kernel (:func:`kernel_name`); None keeps Triton's.
        driver: the driver's CUDA version ("12.8") to cap the ISA by; "" for no cap (compiling offline).
    Returns:
        The kernel name, PTX (ISA :func:`ptx_version`, ``.entry`` exactly ``signature``), warps and shared memory.
    Raises:
        UserError: a target or driver the kernels cannot serve (:func:`ptx_version`), or Triton failed to compile
            for this target; the message names ``--ops standard``.
        RuntimeError: the kernel needs scratch memory or a launch feature TensorRT's AOT launch cannot provide
            (:func:`check_launch_metadata`), or it was decorated under ``TRITON_INTERPRET=1``.
    """
    isa = ptx_version(arch, driver)  # before triton.compile: an ISA below the target's minimum aborts the process
    import triton

    if not isinstance(kernel, triton.runtime.JITFunction):
        raise RuntimeError(f"{kernel!r} is not a compiled Triton kernel (is TRITON_INTERPRET=1 set?); unset it to compile PTX")
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    source = ASTSource(fn=kernel, signature=dict(signature), constexprs=dict(constexprs))
    options = {"ptx_version": isa, "num_warps": int(num_warps), "enable_fp_fusion": True}
    try:
        compiled = triton.compile(source, target=GPUTarget("cuda", int(arch), 32), options=options)
    except Exception as exc:  # noqa: BLE001  e.g. Triton's own ptxas no longer knows the target (sm_101 in CUDA 13)
        first = next((line.strip() for line in str(exc).splitlines() if "fatal" in line or "error" in line.lower()), "")
        first = first or (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        raise UserError(
            f"sm_{arch}: Triton {triton.__version__} could not compile the plugin kernel {getattr(kernel, '__name__', '')} "
            f"at PTX ISA {isa_text(isa)} ({first[:200]}); build from a standard-op graph (--ops standard)"
        ) from exc
    meta = compiled.metadata
    scratch = (getattr(meta, "global_scratch_size", 0) or 0, getattr(meta, "profile_scratch_size", 0) or 0)
    if any(scratch):
        raise RuntimeError(f"Triton kernel {meta.name} needs scratch memory {scratch} bytes, which TensorRT's AOT launch cannot provide")
    check_launch_metadata(meta, name or meta.name)
    ptx = strip_unused_trailing_params(compiled.asm["ptx"], len(signature))
    if name is not None:
        ptx = rename_entry(ptx, name)
    return CompiledKernel(name=name or meta.name, ptx=ptx, num_warps=int(meta.num_warps), shared=int(meta.shared), ptx_isa=isa)


def triton_dtype(name: str) -> str:
    """"fp32"/"fp16"/"bf16" for a dtype spelled "float32", "fp32", "float", "float16", "fp16", "half",
    "bfloat16" or "bf16".

    Raises:
        ValueError: any other dtype (the kernels take float32, float16 and bfloat16).
    """
    key = str(name).lower().removeprefix("torch.").removeprefix("datatype.")
    table = {"float32": "fp32", "fp32": "fp32", "float": "fp32", "float16": "fp16", "fp16": "fp16", "half": "fp16", "bfloat16": "bf16", "bf16": "bf16"}
    if key not in table:
        raise ValueError(f"dtype {name!r} is not supported by the Triton kernels (float32, float16 or bfloat16)")
    return table[key]
