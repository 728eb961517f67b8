"""The engine table: auto choice, explicit names, "did you mean", missing packages (TensorRT: trt_backend/)."""

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


@pytest.fixture
def no_trt(monkeypatch):
    """As on a machine without TensorRT (the TensorRT rows are tested in trt_backend/)."""
    import inpaint.runtime.backends as backends

    real = backends.installed
    monkeypatch.setattr(backends, "installed", lambda e: e.name != "trt" and real(e))


def test_auto_picks_by_suffix(tmp_path, no_trt):
    assert resolve_engine("auto", tmp_path / "m.onnx").name == "onnx"
    assert resolve_engine("auto", tmp_path / "m.ONNX").name == "onnx"
    assert resolve_engine("auto", tmp_path / "m.safetensors").name == "torch"
    with pytest.raises(MissingDependencyError, match="trt: the Python package 'tensorrt' is not installed"):
        resolve_engine("auto", tmp_path / "m.engine")  # only TensorRT reads it, and it is not here


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


def test_missing_model_file(tmp_path):
    with pytest.raises(UserError, match="no such model file"):
        load_runner(tmp_path / "absent.onnx")
    with pytest.raises(UserError, match="--device gpu"):
        load_runner(tmp_path / "absent.onnx", device="gpu")


def test_auto_without_torch_says_what_to_install(tmp_path, monkeypatch):
    ckpt = tmp_path / "m.safetensors"
    ckpt.write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "torch", None)  # torch unimportable
    with pytest.raises(MissingDependencyError, match="inpaint-toolkit\\[train\\]"):
        resolve_engine("auto", ckpt)
    with pytest.raises(MissingDependencyError, match="'torch'"):
        load_runner(ckpt, "torch")
