"""8-bit MatMul weights for ONNX Runtime (``inpaint export --weights int8``): a smaller, faster graph for the CPU.

FAR's MAE is 112 M parameters of transformer linear layers (448 MB in float32, three quarters of FAR's weights),
all of them ``MatMul`` nodes with a constant weight. ``int8`` stores each such weight in 8-bit blocks of
:data:`BLOCK` values along the reduction axis with one float32 scale per block (symmetric, no zero points) and
runs it as ONNX Runtime's own ``com.microsoft.MatMulNBits`` node (its ``matmul_nbits_quantizer``, which also
packs the weights), ``accuracy_level`` :data:`ACCURACY_LEVEL`: activations quantised per block to 8 bits on the
fly and multiplied with the CPU's integer dot products. Everything else stays float32, convolutions included
(their weights must stay constants for ONNX Runtime's blocked NCHWc kernels), so MADF, which has no such MatMul,
is unchanged.

Measured on FAR at 512 x 512 with the authors' random weights (README "FAR on the CPU"): weights 613 -> 290 MB,
output within 1.3e-5 of the float32 graph (PSNR 117 dB), latency 1.45 -> 1.41 s; accuracy_level 0 (float32
multiply) gave the same error at 1.50 s. Larger blocks are faster but coarser: blocks of 128 took the MatMulNBits node
time from 112 to 97 ms (ONNX Runtime's profiler, both graphs alternating in one process, median of 5 runs), while a
768 x 2304 MatMul with 4 input channels scaled x10 (outlier channels, as trained transformers are known to have)
had 1.6x the relative rms error of blocks of 32 (1.42e-2 against 8.9e-3; x50: 1.8x); ONNX Runtime's dynamic
quantisation (``DynamicQuantizeMatMul``, one activation scale per tensor) took the node time to 52-60 ms but had
6.7x the error there (5.98e-2). 32 keeps the accuracy for ~1 % of FAR's time.

For ONNX Runtime only: TensorRT has no ``MatMulNBits``, so ``--engine trt`` and ``--target trt`` refuse it, and
float16 / bfloat16 graphs (``--precision``) already halve their weights.
"""

from __future__ import annotations

import logging

from inpaint._lazy import require
from inpaint.errors import UserError

WEIGHTS = ("fp32", "int8")
#: values per quantisation block along the reduction axis (the smallest MatMulNBits takes, a power of two >= 16 by
#: its spec; larger blocks: module docstring)
BLOCK = 32
#: MatMulNBits accuracy_level 4: int8 activations, integer dot products (the fastest measured, same error)
ACCURACY_LEVEL = 4
#: weights with a side below this are left in float32 (too small to matter; a block needs 32 values)
MIN_SIDE = 128


def quantizable_matmuls(proto, min_side: int = MIN_SIDE) -> list[str]:
    """Names of the MatMul nodes whose second input is a constant 2-D weight with both sides >= ``min_side``."""
    inits = {i.name: i for i in proto.graph.initializer}
    return [n.name for n in proto.graph.node if n.op_type == "MatMul" and n.input[1] in inits
            and len(inits[n.input[1]].dims) == 2 and min(inits[n.input[1]].dims) >= min_side]


def quantize_matmul_weights(proto, min_side: int = MIN_SIDE):
    """``proto`` (an ``onnx.ModelProto``, float32) with its large constant MatMul weights in 8-bit blocks.

    Returns the new ModelProto; raises :class:`~inpaint.errors.UserError` when it has no MatMul to quantise (the
    option would change nothing: MADF, or a model too small).
    """
    names = quantizable_matmuls(proto, min_side)
    if not names:
        raise UserError(f"--weights int8: this model has no MatMul weight of at least {min_side} x {min_side} to store in 8 bits "
                        "(it is for FAR's MAE); leave --weights out")
    nbits = require("onnxruntime.quantization.matmul_nbits_quantizer")
    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)  # one INFO line a node
    nodes = [n for n in proto.graph.node if n.name]
    if len({n.name for n in nodes}) != len(nodes):
        raise RuntimeError("node names are not unique: the quantizer selects nodes by name")
    quantizer = nbits.MatMulNBitsQuantizer(proto, bits=8, block_size=BLOCK, is_symmetric=True, accuracy_level=ACCURACY_LEVEL,
                                           nodes_to_include=names)
    quantizer.process()
    return quantizer.model.model
