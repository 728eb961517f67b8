"""Tiny model files for the runtime tests, made once per test session and cached on disk.

``madf-t`` (stride 16) with seeded random weights: ``madf-t.safetensors`` (checkpoint), ``madf-t.onnx``
(standard ops, the checkpoint's sibling as ``inpaint export`` names it) and, only when a test asks,
``madf-t-plugin.onnx`` (one ``inpaint::MaskAwareDynamicConv`` node per use). The files live under the
session's base temp folder, so fixtures in several conftest files share one export (~5 s each).
"""

from __future__ import annotations

from pathlib import Path

import pytest


def _model():
    import torch

    from inpaint.models import build_model

    torch.manual_seed(0)
    return build_model("madf-t").eval()


def make_model_files(root: Path) -> dict[str, Path]:
    """{"checkpoint": .safetensors, "onnx": standard-op .onnx} under ``root`` (made when absent)."""
    files = {"checkpoint": root / "madf-t.safetensors", "onnx": root / "madf-t.onnx"}
    if not all(p.is_file() for p in files.values()):
        from inpaint.export.onnx import export_onnx
        from inpaint.models.checkpoint import save_model

        model = _model()
        save_model(model, files["checkpoint"])
        export_onnx(model, files["onnx"], ops="standard")
    return files


def make_plugin_onnx(root: Path) -> Path:
    """The same weights exported with custom-op nodes."""
    path = root / "madf-t-plugin.onnx"
    if not path.is_file():
        from inpaint.export.onnx import export_onnx

        export_onnx(_model(), path, ops="plugin")
    return path


@pytest.fixture(scope="session")
def model_files(tmp_path_factory) -> dict[str, Path]:
    """{"checkpoint", "onnx"} -> path, made once per session."""
    return make_model_files(tmp_path_factory.getbasetemp() / "runtime-models")


@pytest.fixture(scope="session")
def plugin_onnx(tmp_path_factory) -> Path:
    """madf-t exported with ``inpaint::MaskAwareDynamicConv`` nodes, same weights as ``model_files``."""
    return make_plugin_onnx(tmp_path_factory.getbasetemp() / "runtime-models")
