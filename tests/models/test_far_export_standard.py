"""FAR exported with standard ONNX ops only: one graph (MAE + ACR), no custom node, no DFT (the FFTs are DFT-matrix
products), ONNX Runtime matching PyTorch on every verification case."""

import onnx
import pytest

from inpaint.export.onnx import export_onnx
from inpaint.export.verify import verify_onnx

from tests.models.test_far_export import far_t_switched_on, graph_ops

pytest.importorskip("onnxruntime_extensions")


def test_export_standard_graph_verifies(tmp_path):
    model = far_t_switched_on()
    path = export_onnx(model, tmp_path / "far.onnx", ops="standard")
    ops = graph_ops(onnx.load(str(path)))
    assert not any(domain == "inpaint" for domain, _ in ops)
    assert not any(op == "DFT" for _, op in ops)
    assert sum(op == "Softmax" for _, op in ops) >= 4
    cases = verify_onnx(model, path)
    assert [c.name for c in cases] == ["random", "random-other-size", "real-photo"]
    assert all(c.max_abs_err <= 1e-4 for c in cases)
