"""TensorRT plugin ``inpaint::MaskAwareDynamicConv`` (quickly deployable plugin, ``tensorrt.plugin``).

Importing this module needs neither TensorRT nor Triton: the decorators apply only when ``tensorrt.plugin``
imports (:data:`REGISTERED` says whether they did), and Triton is imported when a kernel is compiled or run.

- ``register``: output ``(N, C_out, H_out, W_out)`` from the symbolic input dims (dynamic N, H, W), with
  ``C_out = weight.shape[0] // (C_in*k*k)`` and ``H_out = (H + 2p - k) // s + 1``; on the fake pass (dtypes
  only) it returns a descriptor like ``e``'s.
- ``autotune``: all five I/O float32, all float16 or all bfloat16, or 16-bit features with float32 generator
  weights (what mixed-precision graphs keep); LINEAR; tactics :data:`TACTICS` (``triton.TACTIC_BLOCK_P``).
- ``aot_impl``: the Triton kernel compiled to PTX for the build GPU (``triton_aot.build_target``: the engine
  builder's compute capability and driver; :func:`compile_ptx` gives the same PTX for any arch); engines built with it run without Python (trtexec too). The ONNX node asks for it with
  ``aot=1`` (``op.py``).
- ``impl``: JIT fallback, the same kernel launched through torch on TensorRT's stream (float32 and float16:
  ``trtp.Tensor`` has no ``__cuda_array_interface__`` for bfloat16, so bfloat16 engines need ``aot_impl``).

The ONNX node's attributes ``kernel_size``, ``stride``, ``pad`` (ONNX INT) reach the plugin as int32 arrays
of one element, which is also how they are declared (``npt.NDArray[np.int32]``: TensorRT <= 11.1 cannot
read scalar ``int`` attributes under numpy >= 2.4). TensorRT calls ``aot_impl`` with every attribute
positionally in the order of the node's attributes, so all three are declared, in the node's order.
Annotations are evaluated (no ``from __future__ import annotations``): ``tensorrt.plugin`` inspects them.
"""

from typing import List, Tuple, Union

import numpy as np
import numpy.typing as npt

from inpaint.ops.dynamic_conv.contract import DOMAIN, OP_TYPE
from inpaint.ops.triton_aot import BuildTarget, CompiledKernel, build_target, compile_to_ptx, kernel_name, triton_dtype
from inpaint.ops.trt_plugins import plugin_api

#: the plugin's id in TensorRT's registry: "<namespace>::<name>" (the ONNX node's domain and op type)
PLUGIN_NAME = f"{DOMAIN}::{OP_TYPE}"
#: the plugin's attributes, in the ONNX node's order (op.py) and the order register declares them
ATTRIBUTES = ("kernel_size", "stride", "pad")
#: custom tactics offered to TensorRT: tactic t launches programs of TACTIC_BLOCK_P[t - 1] output pixels
TACTICS = (1, 2)

Int32Attr = npt.NDArray[np.int32]

trt, trtp = plugin_api()  # (None, None) without TensorRT

#: True when the plugin is in TensorRT's registry (TensorRT with ``tensorrt.plugin`` imported)
REGISTERED = False
#: True when an ``aot_impl`` is registered too (TensorRT >= 10.9)
AOT_REGISTERED = False


def _int(attribute) -> int:
    """An int from an attribute value: a 1-element array (TensorRT, ONNX INT -> int32[1]) or an int."""
    return int(np.asarray(attribute).reshape(-1)[0])


def _block_p(tactic: int) -> int:
    from inpaint.ops.dynamic_conv import triton as kernels

    return kernels.TACTIC_BLOCK_P[max(int(tactic), 1) - 1]


def _signature(dtypes: Tuple[str, str, str, str, str]) -> dict:
    """Triton signature in TensorRT's launch order: e, m, weight, bias, the int32 scalars, y."""
    from inpaint.ops.dynamic_conv import triton as kernels

    pointers = dict(zip(kernels.KERNEL_INPUTS + kernels.KERNEL_OUTPUTS, (f"*{d}" for d in dtypes)))
    signature = {name: pointers[name] for name in kernels.KERNEL_INPUTS}
    signature.update({name: "i32" for name in kernels.KERNEL_SCALARS})
    signature.update({name: pointers[name] for name in kernels.KERNEL_OUTPUTS})
    return signature


def _compile(target: BuildTarget, dtypes: Tuple[str, str, str, str, str], kernel_size: int, stride: int, pad: int,
             tactic: int) -> Tuple[CompiledKernel, int]:
    """(kernel, BLOCK_P) for one dtype combination (e, m, weight, bias, y as "fp32"/"fp16"/"bf16") and tactic;
    the tactic's tile comes from ``triton.tactic_config`` (tensor-memory targets get another tactic 2)."""
    from inpaint.ops.dynamic_conv import triton as kernels

    block_p, warps = kernels.tactic_config(tactic, target.arch, dtypes[2])
    constexprs = kernels.constexprs(kernel_size, stride, pad, dtypes[2], block_p)
    name = kernel_name("dynamic_conv", dtypes, tactic, k=kernel_size, s=stride, p=pad)
    return compile_to_ptx(kernels.dynamic_conv_kernel, _signature(dtypes), constexprs, target.arch, warps, name=name, driver=target.driver), block_p


def compile_ptx(arch: int, dtype: str, driver: str = "", **attributes) -> List[Tuple[str, str]]:
    """(kernel name, PTX) per tactic, as ``aot_impl`` returns them for these attributes, all I/O in ``dtype``.

    Args:
        arch: compute capability as an int (80, 86, 89, 90, 100, 120, ...); no GPU needed.
        dtype: "float32", "float16" or "bfloat16" (also "fp32", "fp16", "bf16").
        driver: the driver's CUDA version to cap the PTX ISA by ("" = no cap).
        attributes: ``kernel_size``, ``stride``, ``pad`` (ints or 1-element arrays).
    Returns:
        One pair per tactic of :data:`TACTICS`; PTX ISA ``triton_aot.ptx_version(arch)``, ``.entry`` named by
        ``triton_aot.kernel_name`` = e, m, weight, bias pointers, the int32 scalars ``triton.KERNEL_SCALARS``,
        the output pointer.
    Raises:
        UserError: a target or driver the kernels cannot serve (the message names ``--ops standard``).
    """
    unknown = set(attributes) - set(ATTRIBUTES)
    missing = set(ATTRIBUTES) - set(attributes)
    if unknown or missing:
        raise TypeError(f"compile_ptx takes the attributes {ATTRIBUTES}; unknown {sorted(unknown)}, missing {sorted(missing)}")
    d = triton_dtype(dtype)
    k, s, p = (_int(attributes[name]) for name in ATTRIBUTES)
    compiled = [_compile(BuildTarget(int(arch), driver), (d,) * 5, k, s, p, t)[0] for t in TACTICS]
    return [(c.name, c.ptx) for c in compiled]


if trtp is not None:

    def _dtype_name(dtype) -> str:
        return {trt.float32: "fp32", trt.float16: "fp16", trt.bfloat16: "bf16"}[dtype]

    def _out_extent(size, kernel_size: int, stride: int, pad: int):
        """(size + 2p - k) // s + 1 on a ShapeExpr (kept on the left of every operator)."""
        grow = 2 * pad - kernel_size
        size = size + grow if grow >= 0 else size - (-grow)
        return size // stride + 1

    @trtp.register(PLUGIN_NAME)
    def _register(
        e: trtp.TensorDesc,
        m: trtp.TensorDesc,
        weight: trtp.TensorDesc,
        bias: trtp.TensorDesc,
        kernel_size: Int32Attr,
        stride: Int32Attr,
        pad: Int32Attr,
    ) -> trtp.TensorDesc:
        out = e.like()
        if e.shape_expr[0].is_fake:  # the dtype pass: shapes are placeholders, never branch on them
            return out
        k, s, p = _int(kernel_size), _int(stride), _int(pad)
        out.shape_expr[1] = weight.shape_expr[0] // (e.shape_expr[1] * (k * k))
        out.shape_expr[2] = _out_extent(e.shape_expr[2], k, s, p)
        out.shape_expr[3] = _out_extent(e.shape_expr[3], k, s, p)
        return out

    @trtp.autotune(PLUGIN_NAME)
    def _autotune(
        e: trtp.TensorDesc, m: trtp.TensorDesc, weight: trtp.TensorDesc, bias: trtp.TensorDesc, outputs: Tuple[trtp.TensorDesc]
    ) -> List[trtp.AutoTuneCombination]:
        # order: e, m, weight, bias, y. All float32 | all float16 | all bfloat16 (dependent), or 16-bit
        # activations with the float32 generator weights that mixed-precision graphs keep
        return [
            trtp.AutoTuneCombination("FP32|FP16|BF16, FP32|FP16|BF16, FP32|FP16|BF16, FP32|FP16|BF16, FP32|FP16|BF16", "LINEAR", list(TACTICS)),
            trtp.AutoTuneCombination("FP16|BF16, FP16|BF16, FP32, FP32, FP16|BF16", "LINEAR", list(TACTICS)),
        ]

    @trtp.impl(PLUGIN_NAME)
    def _impl(
        e: trtp.Tensor,
        m: trtp.Tensor,
        weight: trtp.Tensor,
        bias: trtp.Tensor,
        kernel_size: Int32Attr,
        stride: Int32Attr,
        pad: Int32Attr,
        outputs: Tuple[trtp.Tensor],
        stream: int,
        tactic: int,
    ) -> None:
        import torch

        from inpaint.ops.dynamic_conv import triton as kernels

        with torch.cuda.stream(torch.cuda.ExternalStream(stream)):
            e_t, m_t, w_t, b_t = (torch.as_tensor(t, device="cuda") for t in (e, m, weight, bias))
            y_t = torch.as_tensor(outputs[0], device="cuda")
            w_t = w_t.reshape(w_t.shape[0], -1)  # (C_in*k*k*C_out, C_m)
            kernels.launch(e_t, m_t, w_t, b_t, y_t, _int(kernel_size), _int(stride), _int(pad), block_p=_block_p(tactic))

    REGISTERED = True

    if hasattr(trtp, "aot_impl"):

        @trtp.aot_impl(PLUGIN_NAME)
        def _aot_impl(
            e: trtp.TensorDesc,
            m: trtp.TensorDesc,
            weight: trtp.TensorDesc,
            bias: trtp.TensorDesc,
            kernel_size: Int32Attr,
            stride: Int32Attr,
            pad: Int32Attr,
            outputs: Tuple[trtp.TensorDesc],
            tactic: int,
        ) -> Tuple[Union[str, bytes], Union[str, bytes], trtp.KernelLaunchParams, trtp.SymExprs]:
            from inpaint.ops.dynamic_conv import triton as kernels

            dtypes = tuple(_dtype_name(t.dtype) for t in (e, m, weight, bias, outputs[0]))
            compiled, block_p = _compile(build_target(), dtypes, _int(kernel_size), _int(stride), _int(pad), tactic)
            n, c_in, h, w = (e.shape_expr[i] for i in range(4))
            y = outputs[0].shape_expr
            scalars = (n, c_in, h, w, m.shape_expr[1], y[2], y[3], y[1])  # = kernels.KERNEL_SCALARS
            extra_args = trtp.SymIntExprs.from_tuple([trtp.SymInt32(v) for v in scalars])
            launch = trtp.KernelLaunchParams()
            launch.grid_x = trtp.cdiv(n * y[2] * y[3], block_p)
            launch.grid_y = trtp.cdiv(y[1], kernels.BLOCK_CO)
            launch.block_x = compiled.num_warps * 32
            launch.shared_mem = compiled.shared
            return compiled.name, compiled.ptx, launch, extra_args

        AOT_REGISTERED = True
