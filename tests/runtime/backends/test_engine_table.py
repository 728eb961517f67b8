"""The engine table: auto choice, explicit names, "did you mean", reserved trt, missing packages."""

from __future__ import annotations

import importlib
import sys

import pytest

from inpaint.errors import MissingDependencyError, UserError
from inpaint.runtime.backends import ENGINES, get_engine, load_runner, resolve_engine


@pytest.mark.parametrize("engine", ENGINES, ids=lambda e: e.name)
def test_every_row_names_a_backend_module_with_load(engine):
    module = importlib.import_module(engine.module)
    assert callable(module.load)
    assert engine.suffixes and all(s.startswith(".") and s == s.lower() for s in engine.suffixes)


def test_auto_picks_by_suffix(tmp_path):
    assert resolve_engine("auto", tmp_path / "m.onnx").name == "onnx"
    assert resolve_engine("auto", tmp_path / "m.ONNX").name == "onnx"
    assert resolve_engine("auto", tmp_path / "m.safetensors").name == "torch"
    assert resolve_engine("auto", tmp_path / "m.engine").name == "trt"  # only the reserved engine reads it


def test_unknown_names_and_suffixes(tmp_path):
    with pytest.raises(UserError, match="did you mean 'onnx'"):
        get_engine("onxx")
    with pytest.raises(UserError, match="did you mean 'torch'"):
        resolve_engine("troch", tmp_path / "m.onnx")
    with pytest.raises(UserError, match="unknown model file type '.pt'"):
        resolve_engine("auto", tmp_path / "m.pt")
    with pytest.raises(UserError, match="use --engine onnx"):
        resolve_engine("torch", tmp_path / "m.onnx")
    with pytest.raises(UserError, match="use --engine torch"):
        resolve_engine("onnx", tmp_path / "m.safetensors")


def test_trt_is_reserved_with_a_clear_message(tmp_path):
    for path in (tmp_path / "m.onnx", tmp_path / "m.engine"):
        with pytest.raises(UserError, match="TensorRT engines arrive with the TensorRT issue"):
            load_runner(path, "trt")
    (tmp_path / "m.engine").write_bytes(b"serialised engine")
    with pytest.raises(UserError, match="TensorRT"):
        load_runner(tmp_path / "m.engine", "auto")


def test_missing_model_file(tmp_path):
    with pytest.raises(UserError, match="no such model file"):
        load_runner(tmp_path / "absent.onnx")
    with pytest.raises(UserError, match="--device gpu"):
        load_runner(tmp_path / "absent.onnx", device="gpu")


def test_auto_without_torch_says_what_to_install(tmp_path, monkeypatch):
    ckpt = tmp_path / "m.safetensors"
    ckpt.write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "torch", None)  # torch unimportable
    with pytest.raises(MissingDependencyError, match="inpaint\\[train\\]"):
        resolve_engine("auto", ckpt)
    with pytest.raises(MissingDependencyError, match="'torch'"):
        load_runner(ckpt, "torch")
