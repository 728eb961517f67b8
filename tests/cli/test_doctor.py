"""``inpaint doctor`` on this machine (no GPU, no TensorRT): every missing piece is named with its fix."""

from __future__ import annotations

import importlib.util

import pytest

from inpaint.cli import doctor
from inpaint.cli.main import main

TRT_HERE = importlib.util.find_spec("tensorrt") is not None


@pytest.mark.skipif(TRT_HERE, reason="TensorRT is installed here")
def test_gpu_rows_here():
    from inpaint._cuda import driver_info

    rows = {name: (ok, state, fix) for name, ok, state, fix in doctor.gpu_rows()}
    assert set(rows) >= {"GPU", "NVIDIA driver", "CUDA runtime", "TensorRT", "Polygraphy", "Triton",
                         "cuda-python / pycuda / torch", "TensorRT plugins", "engine cache"}
    ok, state, fix = rows["TensorRT"]
    assert not ok and state == "missing" and "inpaint-toolkit[trt]" in fix
    assert rows["Polygraphy"][0] == (importlib.util.find_spec("polygraphy") is not None)
    assert not rows["TensorRT plugins"][0] and "--ops standard" in rows["TensorRT plugins"][2]
    if not driver_info().available:
        ok, state, fix = rows["GPU"]
        assert not ok and state == "none" and fix == driver_info().reason


@pytest.mark.skipif(TRT_HERE, reason="TensorRT is installed here")
def test_auto_rows_here():
    rows = {label: (engine, why) for label, engine, why in doctor.auto_rows()}
    assert rows[".onnx"][0] == "onnx" and "not trt: the Python package 'tensorrt' is not installed" in rows[".onnx"][1]
    assert rows[".engine / .plan"][0] == "none" and "inpaint-toolkit[trt]" in rows[".engine / .plan"][1]
    assert rows[".safetensors"][0] == "torch"


def test_doctor_prints_the_three_tables(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for title in ("GPU and TensorRT", "--engine auto", "onnxruntime", "TensorRT plugins", ".safetensors"):
        assert title in out


@pytest.mark.parametrize("cc,driver,ok,text", [("8.6", "12.8", True, "ISA 8.7 for sm_86"), ("12.1", "12.8", False, "needs a CUDA 12.9 driver"),
                                              ("11.0", "13.0", True, "ISA 9.0 for sm_110"), ("13.0", "13.2", False, "not served")])
def test_ptx_row_says_what_the_plugin_kernels_need(cc, driver, ok, text):
    name, row_ok, state, fix = doctor.ptx_row(cc, driver)
    assert name == "plugin kernels (PTX)" and row_ok is ok and text in state
    assert ok or "--ops standard" in fix


def test_gpu_rows_report_the_ptx_row_for_gpu_0(monkeypatch):
    from inpaint import _cuda

    info = _cuda.DriverInfo(True, "", "12.8", (_cuda.Gpu(0, "GB10", "12.1", 1 << 17),))
    monkeypatch.setattr(_cuda, "driver_info", lambda: info)
    rows = {name: (ok, state) for name, ok, state, _ in doctor.gpu_rows()}
    assert rows["plugin kernels (PTX)"] == (False, "ISA 8.8 for sm_121, needs a CUDA 12.9 driver (this one: 12.8)")
