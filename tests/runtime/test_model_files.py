"""The bundled default model: chosen per engine, or a UserError that says to pass --model."""

from __future__ import annotations

import pytest

from inpaint.errors import UserError
from inpaint.runtime.model_files import NO_DEFAULT, default_model, resolve_model


def test_no_bundled_model(tmp_path):
    with pytest.raises(UserError, match="pass --model PATH"):
        default_model("auto", assets=tmp_path)
    assert "no bundled default model" in NO_DEFAULT


def test_default_per_engine(tmp_path):
    (tmp_path / "default.safetensors").write_bytes(b"x")
    assert default_model("auto", assets=tmp_path).name == "default.safetensors"  # only the checkpoint ships
    with pytest.raises(UserError):
        default_model("onnx", assets=tmp_path)
    (tmp_path / "default.onnx").write_bytes(b"x")
    assert default_model("auto", assets=tmp_path).name == "default.onnx"
    assert default_model("onnx", assets=tmp_path).name == "default.onnx"
    assert default_model("torch", assets=tmp_path).name == "default.safetensors"


def test_given_path_wins(tmp_path):
    assert resolve_model(tmp_path / "m.onnx", "torch") == tmp_path / "m.onnx"
