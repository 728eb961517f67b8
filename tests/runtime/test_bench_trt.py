"""inpaint bench --engine trt,onnx,torch: pairing, and a missing TensorRT named before any engine runs."""

from __future__ import annotations

import importlib.util

import pytest

import inpaint.runtime.backends as backends
from inpaint.cli.bench import pair_models
from inpaint.cli.main import main
from inpaint.errors import UserError


def test_pairing_three_engines(model_files, monkeypatch):
    onnx, ckpt = model_files["onnx"], model_files["checkpoint"]
    monkeypatch.setattr(backends, "unavailable", lambda engine: None)  # as on a GPU machine with TensorRT
    assert pair_models([onnx], ["trt", "onnx", "torch"]) == [("trt", onnx), ("onnx", onnx), ("torch", ckpt)]
    engine = onnx.with_name("madf-t.engine")
    assert pair_models([engine, onnx], ["trt", "onnx"]) == [("trt", engine), ("onnx", onnx)]


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here")
def test_missing_tensorrt_stops_the_bench_before_it_starts(model_files, capsys):
    with pytest.raises(UserError, match="--engine trt: the Python package 'tensorrt' is not installed"):
        pair_models([model_files["onnx"]], ["onnx", "trt"])
    assert main(["bench", str(model_files["onnx"]), "--engine", "onnx,torch,trt", "--size", "32", "--iterations", "1"]) == 2
    captured = capsys.readouterr()
    assert "tensorrt" in captured.err and "latency" not in captured.out  # no engine ran
