"""TensorRT plugin ``inpaint::MaskedAttentionAggregate`` (quickly deployable plugin, ``tensorrt.plugin``).

Importing this module needs neither TensorRT nor Triton: the decorators apply only when ``tensorrt.plugin``
imports (:data:`REGISTERED` says whether they did), and Triton is imported when a kernel is compiled or run.

- ``register``: the output is like ``x``: (N, C, H, W), dynamic N, H, W.
- ``autotune``: x, scores, y all float32, all float16 or all bfloat16, or 16-bit features with float32 scores
  (mixed-precision graphs keep the softmax in float32); LINEAR; tactics :data:`TACTICS` (``triton.TACTIC_BLOCK_P``).
- ``aot_impl``: the Triton kernel compiled to PTX for the build GPU (``triton_aot.build_target``; :func:`compile_ptx` gives the same PTX for
  any arch). The token grid side g = sqrt(L) is a compile-time constant, so L must be a build-time constant
  (FAR: 256); the rate (r_h, r_w) = (H / g, W / g) is passed as int32 arguments, so H and W stay dynamic.
- ``impl``: JIT fallback, the same kernel launched through torch on TensorRT's stream (float32 and float16:
  ``trtp.Tensor`` has no ``__cuda_array_interface__`` for bfloat16, so bfloat16 engines need ``aot_impl``).

The node's ``rate`` attribute (ONNX INTS) reaches the plugin as an int32 array of two elements
(``npt.NDArray[np.int32]``); entries 0 mean "derived from the shapes" and the kernel always derives the rate
from H, W and L (which determine it, ``contract.py``). Annotations are evaluated (no ``from __future__ import
annotations``): ``tensorrt.plugin`` inspects them.
"""

from typing import List, Tuple, Union

import numpy as np
import numpy.typing as npt

from inpaint.ops.attention_aggregate.contract import DOMAIN, FAR_TOKEN_GRID, OP_TYPE, grid_side
from inpaint.ops.triton_aot import BuildTarget, CompiledKernel, build_target, compile_to_ptx, kernel_name, triton_dtype
from inpaint.ops.trt_plugins import plugin_api

#: the plugin's id in TensorRT's registry: "<namespace>::<name>" (the ONNX node's domain and op type)
PLUGIN_NAME = f"{DOMAIN}::{OP_TYPE}"
#: the plugin's attributes, in the ONNX node's order (op.py) and the order register declares them
ATTRIBUTES = ("rate",)
#: custom tactics offered to TensorRT: tactic t launches programs of TACTIC_BLOCK_P[t - 1] output pixels
TACTICS = (1, 2)

Int32Attr = npt.NDArray[np.int32]

trt, trtp = plugin_api()  # (None, None) without TensorRT

#: True when the plugin is in TensorRT's registry (TensorRT with ``tensorrt.plugin`` imported)
REGISTERED = False
#: True when an ``aot_impl`` is registered too (TensorRT >= 10.9)
AOT_REGISTERED = False


def _block_p(tactic: int) -> int:
    from inpaint.ops.attention_aggregate import triton as kernels

    return kernels.TACTIC_BLOCK_P[max(int(tactic), 1) - 1]


def _signature(dtypes: Tuple[str, str, str]) -> dict:
    """Triton signature in TensorRT's launch order: x, scores, the int32 scalars, y."""
    from inpaint.ops.attention_aggregate import triton as kernels

    signature = {name: f"*{d}" for name, d in zip(kernels.KERNEL_INPUTS, dtypes[:2])}
    signature.update({name: "i32" for name in kernels.KERNEL_SCALARS})
    signature.update({kernels.KERNEL_OUTPUTS[0]: f"*{dtypes[2]}"})
    return signature


def _compile(target: BuildTarget, dtypes: Tuple[str, str, str], grid: int, tactic: int) -> CompiledKernel:
    """Compile the kernel for one dtype combination (x, scores, y as "fp32"/"fp16"/"bf16"), token grid side and
    tactic (no ``tl.dot``, so no tensor memory on any target)."""
    from inpaint.ops.attention_aggregate import triton as kernels

    constexprs = kernels.constexprs(grid, _block_p(tactic))
    name = kernel_name("attention_aggregate", dtypes, tactic, g=grid)
    return compile_to_ptx(kernels.attention_aggregate_kernel, _signature(dtypes), constexprs, target.arch, kernels.NUM_WARPS,
                          name=name, driver=target.driver)


def compile_ptx(arch: int, dtype: str, rate=(0, 0), num_tokens: int = FAR_TOKEN_GRID**2, driver: str = "") -> List[Tuple[str, str]]:
    """(kernel name, PTX) per tactic, as ``aot_impl`` returns them, all I/O in ``dtype``.

    Args:
        arch: compute capability as an int (80, 86, 89, 90, ...); no GPU needed.
        dtype: "float32", "float16" or "bfloat16" (also "fp32", "fp16", "bf16").
        rate: the node's attribute ([r_h, r_w], 0 = derived); it does not change the kernel, which reads the
            rate from the shapes at run time.
        num_tokens: L of the scores (N, L, L), a perfect square (FAR: 256); the kernel is compiled for g = sqrt(L).
        driver: the driver's CUDA version to cap the PTX ISA by ("" = no cap).
    Returns:
        One pair per tactic of :data:`TACTICS`; PTX ISA ``triton_aot.ptx_version(arch)``, ``.entry`` named by
        ``triton_aot.kernel_name`` = x and scores pointers, the int32 scalars ``triton.KERNEL_SCALARS``, the output pointer.
    Raises:
        UserError: a target or driver the kernels cannot serve (the message names ``--ops standard``).
    """
    if np.asarray(rate).reshape(-1).size != 2:
        raise ValueError(f"rate must hold two ints [r_h, r_w], got {rate!r}")
    d = triton_dtype(dtype)
    compiled = [_compile(BuildTarget(int(arch), driver), (d,) * 3, grid_side(num_tokens), t) for t in TACTICS]
    return [(c.name, c.ptx) for c in compiled]


if trtp is not None:

    def _dtype_name(dtype) -> str:
        return {trt.float32: "fp32", trt.float16: "fp16", trt.bfloat16: "bf16"}[dtype]

    @trtp.register(PLUGIN_NAME)
    def _register(x: trtp.TensorDesc, scores: trtp.TensorDesc, rate: Int32Attr) -> trtp.TensorDesc:
        return x.like()  # same shape and dtype as x, on the fake (dtype) pass and the shape pass alike

    @trtp.autotune(PLUGIN_NAME)
    def _autotune(x: trtp.TensorDesc, scores: trtp.TensorDesc, outputs: Tuple[trtp.TensorDesc]) -> List[trtp.AutoTuneCombination]:
        # order: x, scores, y
        return [
            trtp.AutoTuneCombination("FP32|FP16|BF16, FP32|FP16|BF16, FP32|FP16|BF16", "LINEAR", list(TACTICS)),
            trtp.AutoTuneCombination("FP16|BF16, FP32, FP16|BF16", "LINEAR", list(TACTICS)),
        ]

    @trtp.impl(PLUGIN_NAME)
    def _impl(x: trtp.Tensor, scores: trtp.Tensor, rate: Int32Attr, outputs: Tuple[trtp.Tensor], stream: int, tactic: int) -> None:
        import torch

        from inpaint.ops.attention_aggregate import triton as kernels
        from inpaint.ops.attention_aggregate.contract import resolve_rate

        with torch.cuda.stream(torch.cuda.ExternalStream(stream)):
            x_t = torch.as_tensor(x, device="cuda")
            s_t = torch.as_tensor(scores, device="cuda")
            y_t = torch.as_tensor(outputs[0], device="cuda")
            resolved = resolve_rate(x_t.shape[2], x_t.shape[3], s_t.shape[-1], tuple(int(r) for r in np.asarray(rate).reshape(-1)))
            kernels.launch(x_t, s_t, y_t, resolved, block_p=_block_p(tactic))

    REGISTERED = True

    if hasattr(trtp, "aot_impl"):

        @trtp.aot_impl(PLUGIN_NAME)
        def _aot_impl(
            x: trtp.TensorDesc, scores: trtp.TensorDesc, rate: Int32Attr, outputs: Tuple[trtp.TensorDesc], tactic: int
        ) -> Tuple[Union[str, bytes], Union[str, bytes], trtp.KernelLaunchParams, trtp.SymExprs]:
            from inpaint.ops.attention_aggregate import triton as kernels

            tokens = scores.shape_expr[1]
            if not tokens.is_constant:
                raise ValueError(f"{PLUGIN_NAME}: the scores' token count L must be a build-time constant (FAR: 256)")
            g = grid_side(tokens.constant_value())
            dtypes = tuple(_dtype_name(t.dtype) for t in (x, scores, outputs[0]))
            compiled = _compile(build_target(), dtypes, g, tactic)
            n, c, h, w = (x.shape_expr[i] for i in range(4))
            scalars = (n, c, h, w, h // g, w // g)  # = kernels.KERNEL_SCALARS
            extra_args = trtp.SymIntExprs.from_tuple([trtp.SymInt32(v) for v in scalars])
            launch = trtp.KernelLaunchParams()
            launch.grid_x = trtp.cdiv(h * w, _block_p(tactic))
            launch.grid_y = trtp.cdiv(c, kernels.BLOCK_C)
            launch.grid_z = n
            launch.block_x = compiled.num_warps * 32
            launch.shared_mem = compiled.shared
            return compiled.name, compiled.ptx, launch, extra_args

        AOT_REGISTERED = True
