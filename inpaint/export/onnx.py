"""``torch.onnx.export(dynamo=True)`` of any :class:`~inpaint.models.base.InpaintModel` under the graph contract.

``ops="plugin"``: each custom operator is ONE node in the ``inpaint`` domain (the form TensorRT maps to a
plugin; ONNX Runtime runs it through onnxruntime-extensions). ``ops="standard"``: standard ONNX ops only.
``precision="fp16"|"bf16"``: the float32 graph rewritten by :mod:`inpaint.export.precision` (reduced-precision
body, float32 islands and graph contract), for TensorRT 11's strongly typed networks.

``target`` (:data:`inpaint.export.contract.TARGETS`, recorded as ``inpaint.target``) is the runtime the graph is
lowered for: ``onnx-cpu`` writes FAR's FFTs as ONNX ``DFT`` nodes (ONNX Runtime's CPU kernel); ``onnx-cuda`` and
``trt`` write them as DFT-matrix products, which every runtime runs (and which ONNX Runtime 1.31's CPU runs faster
than its own DFT kernel: README "FAR on the CPU"). Graphs without FFTs (MADF) are the same for every target.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import torch
from torch import nn

from inpaint import __version__
from inpaint._atomic import atomic_path
from inpaint._lazy import require
from inpaint.errors import UserError
from inpaint.export import contract as C
from inpaint.export import precision as P
from inpaint.export import weights as W
from inpaint.models.base import InpaintModel
from inpaint.ops.mode import export_mode

log = logging.getLogger("inpaint.export")

OPS_VARIANTS = ("plugin", "standard")
#: the dynamo exporter's lowest supported opset
MIN_OPSET = 18
#: the newest IR version ONNX Runtime 1.31 reads (DESIGN.md, checked here)
MAX_IR_VERSION = 10


class GraphContract(nn.Module):
    """forward(image, mask) -> inpainted, with H and W already multiples of the model's stride."""

    def __init__(self, model: InpaintModel):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hole = mask > 0.5
        out = self.model.predict(image, hole.to(image.dtype)).clamp(0, 1)
        return torch.where(hole, out, image)


def _dynamic_shapes(stride: int) -> dict:
    Dim = torch.export.Dim
    n = Dim("batch", min=1, max=1024)
    h = stride * Dim("h_blocks", min=1, max=16384 // stride)
    w = stride * Dim("w_blocks", min=1, max=16384 // stride)
    return {"image": {0: n, 2: h, 3: w}, "mask": {0: n, 2: h, 3: w}}


def example_inputs(model: InpaintModel, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs for tracing: a non-square size (2 x 3 strides) and batch 2, so no dimension is specialised to 1."""
    g = torch.Generator().manual_seed(seed)
    h, w = 2 * model.stride, 3 * model.stride
    return torch.rand(batch, 3, h, w, generator=g), (torch.rand(batch, 1, h, w, generator=g) > 0.6).float()


#: no limit on the tensors :func:`fold_weight_computations` folds (the exporter's own pass stops at 256 K elements)
FOLD_SIZE_LIMIT = 1 << 40


def fold_weight_computations(model) -> None:
    """Constant-fold, in place, every computation on weights alone (an ``onnx_ir.Model``; onnxscript's optimizer,
    which also drops the nodes and initializers that become unused).

    The models derive kernels from their parameters in ``forward`` (MADF's factorised generator kernels and their
    chunks, the phase kernels of the transposed convolutions), which the exporter writes as nodes on the weights.
    ONNX Runtime would fold them at every session start and keep the file's weights and the folded ones in memory:
    folded here, MADF's session loads in 1/5 of the time with ~600 MB less resident memory at 512 x 512 (README,
    "MADF on the CPU"). Same values: the folding runs the same float32 operations once.
    """
    from onnxscript import optimizer

    optimizer.optimize(model, input_size_limit=FOLD_SIZE_LIMIT, output_size_limit=FOLD_SIZE_LIMIT)


#: ``export_onnx``'s default target: the portable DFT-matrix form (runs on every runtime)
DEFAULT_TARGET = C.TARGET_ONNX_CUDA


def default_opset(precision: str = "fp32") -> int:
    """The opset an export uses unless told: :data:`MIN_OPSET`; bf16 needs :data:`~inpaint.export.precision.BF16_MIN_OPSET`."""
    return P.BF16_MIN_OPSET if precision == "bf16" else MIN_OPSET


def export_onnx(
    model: InpaintModel, out: str | Path, *, ops: str = "plugin", opset: int | None = None, checkpoint_sha256: str = "",
    precision: str = "fp32", target: str = DEFAULT_TARGET, weights: str = "fp32",
) -> Path:
    """Export ``model`` (put in eval mode) to ``out`` atomically; returns the path.

    ``opset`` None: :data:`MIN_OPSET`, or :data:`~inpaint.export.precision.BF16_MIN_OPSET` for ``bf16``.
    ``precision``: ``fp32``, ``fp16`` or ``bf16`` (see :mod:`inpaint.export.precision`).
    ``target``: one of :data:`~inpaint.export.contract.TARGETS` (module docstring).
    ``weights``: ``fp32``, or ``int8`` for 8-bit MatMul weights on ONNX Runtime (:mod:`inpaint.export.weights`;
    float32 graphs and ONNX Runtime targets only).
    The file carries ``metadata_props`` (see :mod:`inpaint.export.contract`) and passes ``onnx.checker`` with
    ``full_check``.
    """
    onnx = require("onnx")
    if ops not in OPS_VARIANTS:
        raise UserError(f"--ops {ops}: choose one of {', '.join(OPS_VARIANTS)}")
    if precision not in P.PRECISIONS:
        raise UserError(f"--precision {precision}: choose one of {', '.join(P.PRECISIONS)}")
    opset = default_opset(precision) if opset is None else opset
    if opset < MIN_OPSET:
        raise UserError(f"--opset {opset}: the exporter needs opset {MIN_OPSET} or newer")
    if precision == "bf16" and opset < P.BF16_MIN_OPSET:
        raise UserError(f"--opset {opset}: bfloat16 graphs need opset {P.BF16_MIN_OPSET} or newer (Conv has no bfloat16 form before); leave --opset out")
    if target not in C.TARGETS:
        raise UserError(f"--target {target}: choose one of {', '.join(C.TARGETS)}")
    if weights not in W.WEIGHTS:
        raise UserError(f"--weights {weights}: choose one of {', '.join(W.WEIGHTS)}")
    if weights != "fp32" and target == C.TARGET_TRT:
        raise UserError(f"--weights {weights}: TensorRT has no MatMulNBits node; export for ONNX Runtime (--target onnx-cpu or onnx-cuda)")
    if weights != "fp32" and precision != "fp32":
        raise UserError(f"--weights {weights} is for float32 graphs; --precision {precision} already halves the weights, use one of the two")
    model = model.eval()
    wrapper = GraphContract(model).eval()
    # the exporter warns that torchvision's ops are unavailable; this package never uses them
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    with torch.no_grad(), export_mode(custom_nodes=ops == "plugin", dft_nodes=target in C.DFT_TARGETS), warnings.catch_warnings():
        # the exporter's own deprecation and axis-renaming notes are not the user's business
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        program = torch.onnx.export(
            wrapper,
            example_inputs(model),
            dynamo=True,
            input_names=[C.INPUT_IMAGE, C.INPUT_MASK],
            output_names=[C.OUTPUT],
            dynamic_shapes=_dynamic_shapes(model.stride),
            opset_version=opset,
            verbose=False,
        )
    fold_weight_computations(program.model)
    proto = P.reduce_precision(program.model_proto, precision)
    if weights == "int8":
        proto = W.quantize_matmul_weights(proto)
    proto.ir_version = min(proto.ir_version, MAX_IR_VERSION)
    custom = sorted({n.op_type for n in proto.graph.node if n.domain == "inpaint"})
    meta = {
        C.KEY_FAMILY: model.config["family"],
        C.KEY_PRESET: model.config["preset"],
        C.KEY_CONFIG: json.dumps(model.config),
        C.KEY_STRIDE: str(model.stride),
        C.KEY_TRAIN_SIZE: str(model.train_size),
        C.KEY_MASK: C.MASK_CONVENTION,
        C.KEY_VERSION: __version__,
        C.KEY_SHA256: checkpoint_sha256,
        C.KEY_OPS: ops,
        C.KEY_CUSTOM_OPS: ",".join(custom),
        C.KEY_PRECISION: precision,
        C.KEY_TARGET: target,
        C.KEY_WEIGHTS: weights,
    }
    return save_checked(proto, meta, out)


def save_checked(proto, meta: dict[str, str], out: str | Path) -> Path:
    """Replace ``proto``'s metadata_props with ``meta``, stamp the producer, pass ``onnx.checker`` (full_check)
    and write ``out`` atomically (nothing is left at ``out`` when any step fails). Returns the path."""
    onnx = require("onnx")
    del proto.metadata_props[:]
    for k, v in meta.items():
        proto.metadata_props.add(key=k, value=v)
    proto.producer_name, proto.producer_version = "inpaint", __version__
    onnx.checker.check_model(proto, full_check=True)
    with atomic_path(out) as tmp:
        onnx.save(proto, str(tmp))
    return Path(out)
