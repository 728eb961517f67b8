"""Compare an exported ONNX graph, run by ONNX Runtime, against the PyTorch model it came from.

Cases: random inputs (batch 2, non-square), a second size (batch 1) to exercise the dynamic axes, and a real
photo (``inpaint/assets/verify.jpg``, a crop of examples/castle.jpg) with a free-form mask. Plugin graphs run
their custom nodes through the onnxruntime-extensions kernels, so plugin and standard graphs are checked the
same way. Float32 tolerance: max abs error <= 1e-4 (issue 3).

Reduced-precision graphs (``inpaint.precision`` fp16 / bf16) are judged by the PSNR of the hole pixels against
the float32 PyTorch model, >= 40 dB (issue 9), and the known pixels must still equal the input exactly; so are
float32 graphs with 8-bit MatMul weights (``inpaint.weights`` int8, :mod:`inpaint.export.weights`). ONNX
Runtime's CPU runs a float16 standard-op graph as written (its own casts around the float16 nodes it has no
kernel for); it has no bfloat16 kernels, and onnxruntime-extensions' Python ops take no float16, so bf16 graphs
and fp16 plugin graphs run as their :func:`~inpaint.export.precision.emulate_in_float32` twin (every reduced
tensor rounded to its type) and the case says ``emulated``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from inpaint.errors import InpaintError
from inpaint.export import contract as C
from inpaint.export.onnx import GraphContract, example_inputs
from inpaint.models.base import InpaintModel

ATOL = 1e-4
#: reduced-precision criterion: PSNR (peak 1.0) over the hole pixels, float32 PyTorch as the reference (issue 9)
MIN_PSNR_DB = 40.0


class VerificationError(InpaintError):
    """ONNX Runtime and PyTorch disagree beyond the tolerance."""


@dataclass
class Case:
    name: str
    shape: tuple[int, ...]
    max_abs_err: float
    #: over the hole pixels, peak 1.0; inf where they agree exactly
    psnr_db: float = math.inf
    #: how ONNX Runtime ran the graph: "ort" as written, "emulated" as its float32 twin (reduced graphs)
    mode: str = "ort"
    #: every known pixel equals the input's
    known_exact: bool = True


def psnr_db(got: np.ndarray, want: np.ndarray, where: np.ndarray) -> float:
    """PSNR in dB (peak 1.0) of ``got`` against ``want`` over the elements ``where`` is true; inf when equal."""
    mse = float(np.mean((got[where].astype(np.float64) - want[where]) ** 2)) if where.any() else 0.0
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def _real_case(stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    import cv2

    data = resources.files("inpaint.assets").joinpath("verify.jpg").read_bytes()
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    h, w = (bgr.shape[0] // stride) * stride or stride, (bgr.shape[1] // stride) * stride or stride
    rgb = cv2.resize(bgr, (w, h), interpolation=cv2.INTER_AREA)[..., ::-1] / 255.0
    mask = np.zeros((h, w), np.uint8)
    cv2.line(mask, (w // 5, h // 4), (4 * w // 5, 3 * h // 4), 255, max(3, h // 12))
    cv2.circle(mask, (w // 3, 2 * h // 3), max(2, h // 8), 255, -1)
    image = torch.from_numpy(np.ascontiguousarray(rgb, np.float32)).permute(2, 0, 1)[None]
    return image, torch.from_numpy(mask > 0).float()[None, None]


def onnx_session(path: str | Path):
    """An ONNX Runtime CPU session, with this package's custom-op kernels registered when the graph needs them."""
    import onnxruntime as ort

    from inpaint.ops.ort_custom_ops import custom_op_session_options, graph_custom_ops

    ops = graph_custom_ops(path)
    options = custom_op_session_options(ops) if ops else ort.SessionOptions()
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _reduced_session(path: str | Path, precision: str):
    """(session, mode) for a reduced-precision graph: as written where ONNX Runtime's CPU runs it, else its twin."""
    import onnx
    import onnxruntime as ort

    from inpaint.export.precision import emulate_in_float32
    from inpaint.ops.ort_custom_ops import custom_op_session_options, graph_custom_ops

    ops = graph_custom_ops(path)
    if precision == "fp16" and not ops:
        return onnx_session(path), "ort"
    twin = emulate_in_float32(onnx.load(str(path))).SerializeToString()
    options = custom_op_session_options(ops) if ops else ort.SessionOptions()
    return ort.InferenceSession(twin, options, providers=["CPUExecutionProvider"]), "emulated"


def verify_onnx(model: InpaintModel, path: str | Path, atol: float = ATOL, min_psnr: float = MIN_PSNR_DB) -> list[Case]:
    """Run every case through both; raise :class:`VerificationError` naming the worst case on a mismatch.

    float32 graphs: max abs error <= ``atol``; reduced-precision graphs (metadata ``inpaint.precision``): hole PSNR
    >= ``min_psnr`` dB and known pixels exact.
    """
    precision, weights = _graph_types(path)
    session, mode = (onnx_session(path), "ort") if precision == "fp32" else _reduced_session(path, precision)
    exact_graph = precision == weights == "fp32"  # else judged by hole PSNR (8-bit weights round like fp16 does)
    reference = GraphContract(model.eval()).eval()
    image2, mask2 = example_inputs(model, batch=1, seed=1)
    cases = {
        "random": example_inputs(model, batch=2, seed=0),
        "random-other-size": (image2.transpose(2, 3).contiguous(), mask2.transpose(2, 3).contiguous()),
        "real-photo": _real_case(model.stride),
    }
    report = []
    for name, (image, mask) in cases.items():
        with torch.no_grad():
            want = reference(image, mask).numpy()
        got = session.run([C.OUTPUT], {C.INPUT_IMAGE: image.numpy(), C.INPUT_MASK: mask.numpy()})[0]
        hole = np.broadcast_to(mask.numpy() > 0.5, want.shape)
        exact = bool(np.array_equal(got[~hole], image.numpy()[~hole]))
        report.append(Case(name, tuple(image.shape), float(np.abs(got - want).max()), psnr_db(got, want, hole), mode, exact))
    if exact_graph:
        worst = max(report, key=lambda c: c.max_abs_err)
        if not worst.max_abs_err <= atol:
            raise VerificationError(f"{path}: ONNX Runtime differs from PyTorch by {worst.max_abs_err:.2e} on '{worst.name}' {worst.shape} (tolerance {atol:.0e})")
        return report
    worst = min(report, key=lambda c: c.psnr_db)
    if not worst.psnr_db >= min_psnr:
        raise VerificationError(
            f"{path}: the {precision} graph (weights {weights}, {worst.mode}) reaches only {worst.psnr_db:.1f} dB PSNR against float32 PyTorch in the holes "
            f"on '{worst.name}' {worst.shape} (needs {min_psnr:.0f} dB)"
        )
    for case in report:
        if not case.known_exact:
            raise VerificationError(f"{path}: the {precision} graph (weights {weights}) changes known pixels on '{case.name}' {case.shape}; they must equal the input")
    return report


def _graph_types(path: str | Path) -> tuple[str, str]:
    """The graph's ``inpaint.precision`` and ``inpaint.weights`` metadata (``fp32`` when absent: older files)."""
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    return meta.get(C.KEY_PRECISION, "fp32"), meta.get(C.KEY_WEIGHTS, "fp32")
