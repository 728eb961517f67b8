"""Compare an exported ONNX graph, run by ONNX Runtime, against the PyTorch model it came from.

Cases: random inputs (batch 2, non-square), a second size (batch 1) to exercise the dynamic axes, and a real
photo (``inpaint/assets/verify.jpg``, a crop of examples/castle.jpg) with a free-form mask. Plugin graphs run
their custom nodes through the onnxruntime-extensions kernels, so plugin and standard graphs are checked the
same way. Float32 tolerance: max abs error <= 1e-4 (issue 3).
"""

from __future__ import annotations

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


class VerificationError(InpaintError):
    """ONNX Runtime and PyTorch disagree beyond the tolerance."""


@dataclass
class Case:
    name: str
    shape: tuple[int, ...]
    max_abs_err: float


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


def verify_onnx(model: InpaintModel, path: str | Path, atol: float = ATOL) -> list[Case]:
    """Run every case through both; raise :class:`VerificationError` naming the worst case on a mismatch."""
    session = onnx_session(path)
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
        report.append(Case(name, tuple(image.shape), float(np.abs(got - want).max())))
    worst = max(report, key=lambda c: c.max_abs_err)
    if not worst.max_abs_err <= atol:
        raise VerificationError(f"{path}: ONNX Runtime differs from PyTorch by {worst.max_abs_err:.2e} on '{worst.name}' {worst.shape} (tolerance {atol:.0e})")
    return report
