"""Compiling this package's Triton kernels to PTX for TensorRT's AOT plugins (``@trtp.aot_impl``); no GPU needed.

Two facts shape this module (read from the sources; see ``README`` of the TensorRT workflow):

- **PTX ISA.** Triton emits the newest PTX ISA its bundled ``ptxas`` knows (9.4 for Triton 3.9's CUDA 13.4),
  and a driver rejects PTX newer than itself when TensorRT loads the kernel. :data:`PTX_VERSION` pins ISA 8.7,
  the ISA of CUDA 12.8, so drivers of CUDA 12.8 and later accept the PTX (Triton's ``ptx_version`` option).
- **The launch ABI.** TensorRT's AOT launch passes exactly: input pointers, the ``trtp.SymInt32`` extra
  arguments, output pointers (``tensorrt.plugin._plugin_class._TemplateAOTPlugin.get_launch_params`` hands
  TensorRT only the kernel name, PTX, grid/block/shared memory and the extra int32 expressions). Triton >= 3.3
  appends hidden pointer parameters to every ``.entry`` after the declared ones (``global_scratch``, and from
  3.5 ``profile_scratch``), which Triton's own launcher fills. Newer TensorRT releases are reported to pad
  missing trailing arguments with null (Torch-TensorRT's ``kernels/_triton.py``); to be independent of that,
  :func:`compile_to_ptx` checks that the kernel needs no scratch memory (sizes 0 in Triton's metadata), that
  the hidden parameters are never referenced in the PTX body, and then removes them from the ``.entry``, so
  the parameter list is exactly what TensorRT passes, on every TensorRT version. Removing trailing unused
  parameters leaves the offsets of the others unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: PTX ISA 8.7 (CUDA 12.8): the ISA the PTX declares; drivers of CUDA 12.8 or later load it
PTX_VERSION = 87

_ENTRY = re.compile(r"(?:\.visible\s+)?\.entry\s+(?P<name>[\w$]+)\s*\((?P<params>[^)]*)\)", re.S)
_PARAM = re.compile(
    r"\.param\s+(?P<type>\.[us]\d+|\.b\d+|\.f\d+)(?:\s+\.ptr)?(?:\s+\.(?:global|shared|const|local))?(?:\s+\.align\s+\d+)?\s+(?P<name>[\w$]+)"
)


@dataclass(frozen=True)
class CompiledKernel:
    """One kernel compiled to PTX: what ``aot_impl`` returns to TensorRT, besides the launch grid."""

    name: str  #: the ``.entry`` name
    ptx: str  #: PTX text, ISA :data:`PTX_VERSION`, ``.entry`` parameters = the declared runtime parameters
    num_warps: int  #: threads per block = 32 * num_warps
    shared: int  #: dynamic shared memory per block, bytes


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


def compile_to_ptx(kernel, signature: dict[str, str], constexprs: dict, arch: int, num_warps: int) -> CompiledKernel:
    """Compile a ``@triton.jit`` kernel for ``sm_<arch>`` to PTX that TensorRT's AOT launch can call.

    Args:
        kernel: the JIT function (not under ``TRITON_INTERPRET=1``).
        signature: runtime parameter -> Triton type ("*fp32", "*fp16", "i32"), in the kernel's order, which
            must be TensorRT's: inputs, int32 extra arguments, outputs.
        constexprs: the kernel's ``tl.constexpr`` values.
        arch: compute capability as an int (80, 86, 89, 90, ...).
        num_warps: warps per block.
    Returns:
        The kernel name, PTX (ISA :data:`PTX_VERSION`, ``.entry`` exactly ``signature``), warps and shared memory.
    Raises:
        RuntimeError: the kernel needs scratch memory (TensorRT's AOT launch cannot provide it), or it was
            decorated under ``TRITON_INTERPRET=1`` (interpreted kernels cannot be compiled).
    """
    import triton

    if not isinstance(kernel, triton.runtime.JITFunction):
        raise RuntimeError(f"{kernel!r} is not a compiled Triton kernel (is TRITON_INTERPRET=1 set?); unset it to compile PTX")
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    source = ASTSource(fn=kernel, signature=dict(signature), constexprs=dict(constexprs))
    options = {"ptx_version": PTX_VERSION, "num_warps": int(num_warps), "enable_fp_fusion": True}
    compiled = triton.compile(source, target=GPUTarget("cuda", int(arch), 32), options=options)
    meta = compiled.metadata
    scratch = (getattr(meta, "global_scratch_size", 0) or 0, getattr(meta, "profile_scratch_size", 0) or 0)
    if any(scratch):
        raise RuntimeError(f"Triton kernel {meta.name} needs scratch memory {scratch} bytes, which TensorRT's AOT launch cannot provide")
    ptx = strip_unused_trailing_params(compiled.asm["ptx"], len(signature))
    return CompiledKernel(name=meta.name, ptx=ptx, num_warps=int(meta.num_warps), shared=int(meta.shared))


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


def current_arch() -> int:
    """Compute capability of the current CUDA device as an int (e.g. 89), through Triton's driver."""
    import triton

    return int(triton.runtime.driver.active.get_current_target().arch)
