"""Without TensorRT or a GPU (this machine): --engine trt fails at once with one line and exit 2, writes nothing;
--engine auto falls back to ONNX Runtime and says why under -v. With them (faked): auto ranks TensorRT first."""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import sys

import cv2
import numpy as np
import pytest

from inpaint import _cuda
from inpaint.cli.main import main
from inpaint.errors import MissingDependencyError
from inpaint.export import engine_file as E
from inpaint.runtime.backends import load_runner, resolve_engine
from inpaint.runtime.backends import trt as trt_backend
from tests.runtime.backends.trt_backend.fakes import GPU, fake_tensorrt, stand_in_builder, FakeMemory

TRT_HERE = importlib.util.find_spec("tensorrt") is not None


@pytest.fixture(autouse=True)
def fresh_probe():
    trt_backend.unavailable_reason.cache_clear()
    yield
    trt_backend.unavailable_reason.cache_clear()


@pytest.fixture
def trt_ready(monkeypatch):
    """As on a GPU machine with TensorRT 10.13 (a fake module; nothing runs)."""
    fake = fake_tensorrt(FakeMemory())
    monkeypatch.setitem(sys.modules, "tensorrt", fake)
    real_find = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "tensorrt" else real_find(name, *a))
    monkeypatch.setattr(_cuda, "driver_info", lambda: _cuda.DriverInfo(True, "", "12.8", (GPU,)))
    return fake


def _images(tmp_path):
    cv2.imwrite(str(tmp_path / "img.png"), np.full((32, 32, 3), 120, np.uint8))
    cv2.imwrite(str(tmp_path / "mask.png"), np.pad(np.full((8, 8), 255, np.uint8), 12))


@pytest.mark.skipif(TRT_HERE, reason="TensorRT is installed here")
def test_reason_here_names_the_fix():
    reason = trt_backend.unavailable_reason()
    assert "TensorRT is not installed" in reason and "inpaint-toolkit[trt]" in reason


def test_reason_without_a_gpu(monkeypatch, trt_ready):
    monkeypatch.setattr(_cuda, "driver_info", lambda: _cuda.DriverInfo(False, "no NVIDIA driver library (libcuda) on this machine"))
    assert "needs an NVIDIA GPU: no NVIDIA driver library" in trt_backend.unavailable_reason()


def test_reason_old_tensorrt(trt_ready):
    trt_ready.__version__ = "10.8.0.43"
    assert "older than 10.9" in trt_backend.unavailable_reason()


def test_ready_machine_ranks_tensorrt_first(trt_ready, tmp_path):
    assert trt_backend.unavailable_reason() is None
    assert resolve_engine("auto", tmp_path / "m.onnx").name == "trt"
    assert resolve_engine("auto", tmp_path / "m.engine").name == "trt"
    assert resolve_engine("auto", tmp_path / "m.safetensors").name == "torch"


@pytest.mark.skipif(TRT_HERE, reason="TensorRT is installed here")
def test_auto_falls_back_to_onnx_and_says_why(model_files, caplog):
    with caplog.at_level(logging.DEBUG, logger="inpaint.runtime"):
        runner = load_runner(model_files["onnx"], "auto")
    assert runner.name == "onnx"
    assert "--engine auto: not trt for madf-t.onnx: the Python package 'tensorrt' is not installed" in caplog.text


def test_auto_falls_back_when_there_is_no_gpu(model_files, monkeypatch, trt_ready, caplog):
    monkeypatch.setattr(_cuda, "driver_info", lambda: _cuda.DriverInfo(False, "the NVIDIA driver sees no CUDA GPU"))
    with caplog.at_level(logging.DEBUG, logger="inpaint.runtime"):
        assert load_runner(model_files["onnx"], "auto").name == "onnx"
    assert "sees no CUDA GPU" in caplog.text
    with pytest.raises(MissingDependencyError, match="--engine trt: TensorRT needs an NVIDIA GPU"):
        load_runner(model_files["onnx"], "trt")


@pytest.mark.skipif(TRT_HERE, reason="TensorRT is installed here")
@pytest.mark.parametrize("model", ["onnx", "engine"])
def test_run_engine_trt_fails_at_once_and_writes_nothing(tmp_path, model_files, capsys, model):
    _images(tmp_path)
    path = model_files["onnx"]
    if model == "engine":
        path = tmp_path / "m.engine"
        E.write_engine_file(path, b"plan", {"inpaint.stride": "16"})
    out = tmp_path / "results" / ""
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["run", str(tmp_path / "img.png"), str(tmp_path / "mask.png"), "-o", f"{out}/", "--model", str(path),
                 "--engine", "trt"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tensorrt" in err[0] and "inpaint-toolkit[trt]" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no output folder, nothing


@pytest.mark.skipif(TRT_HERE, reason="TensorRT is installed here")
def test_export_engine_trt_fails_at_once_and_writes_nothing(tmp_path, model_files, capsys):
    for source in (model_files["checkpoint"], model_files["onnx"]):
        assert main(["export", str(source), "--engine", "trt", "-o", str(tmp_path / "m.engine")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "TensorRT is not installed" in err[0]
    assert not list(tmp_path.iterdir())
    assert main(["export", str(model_files["checkpoint"]), "--shapes", "1x16x16,1x16x16,1x16x16", "-o", str(tmp_path / "m.onnx")]) == 2
    assert "only for --engine trt" in capsys.readouterr().err and not list(tmp_path.iterdir())


def _stand_in_build(monkeypatch):
    from inpaint.export import trt as trt_export

    real = trt_export.build_engine
    monkeypatch.setattr(trt_export, "build_engine", lambda *a, **k: real(
        *a, **k, trt_version="10.13.0.35", compute_capability="8.6", plan_builder=stand_in_builder()))


def test_export_cli_builds_an_engine_from_onnx(tmp_path, model_files, monkeypatch, trt_ready, capsys):
    _stand_in_build(monkeypatch)
    out = tmp_path / "m.engine"
    assert main(["export", str(model_files["onnx"]), "--engine", "trt", "--shapes", "1x16x16,2x32x32,2x64x64",
                 "--precision", "fp16", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "export success" in text and "trt fp16" in text and "1x16x16,2x32x32,2x64x64" in text
    header = E.read_engine_header(out)
    assert header[E.KEY_PRECISION] == "fp16" and header["inpaint.preset"] == "madf-t"
    assert main(["export", str(model_files["onnx"]), "--engine", "trt", "--shapes", "1x16x16,1x24x24,1x64x64",
                 "-o", str(tmp_path / "x.engine")]) == 2
    assert "stride 16" in capsys.readouterr().err and not (tmp_path / "x.engine").exists()
    assert main(["export", str(model_files["onnx"]), "--engine", "trt", "-o", str(tmp_path / "x.trt")]) == 2
    assert ".engine or .plan" in capsys.readouterr().err


def test_export_cli_builds_an_engine_from_a_checkpoint(tmp_path, model_files, monkeypatch, trt_ready, capsys):
    _stand_in_build(monkeypatch)
    ckpt = tmp_path / "c.safetensors"
    ckpt.write_bytes(model_files["checkpoint"].read_bytes())
    assert main(["export", str(ckpt), "--engine", "trt", "--ops", "standard"]) == 0
    header = E.read_engine_header(tmp_path / "c.engine")
    assert header["inpaint.ops"] == "standard" and header[E.KEY_PRECISION] == "fp32"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.engine", "c.safetensors"]  # the temporary .onnx is gone


# --- the driver probe ---------------------------------------------------------------------------------------
class FakeDriver:
    """Answers like libcuda: writes results through the ctypes pointers it is given."""

    def __init__(self, init_status=0, devices=(("NVIDIA Fake", 8, 9, 24 << 30),)):
        self.init_status, self.devices = init_status, devices

    @staticmethod
    def _set(ref, value):
        ref._obj.value = value
        return 0

    def cuInit(self, flags):
        return self.init_status

    def cuDriverGetVersion(self, ref):
        return self._set(ref, 12080)

    def cuDeviceGetCount(self, ref):
        return self._set(ref, len(self.devices))

    def cuDeviceGet(self, ref, index):
        return self._set(ref, index)

    def cuDeviceGetName(self, buf, size, device):
        ctypes.memmove(buf, self.devices[device.value][0].encode() + b"\0", len(self.devices[device.value][0]) + 1)
        return 0

    def cuDeviceGetAttribute(self, ref, attribute, device):
        major, minor = self.devices[device.value][1:3]
        return self._set(ref, {75: major, 76: minor}[attribute])

    def cuDeviceTotalMem_v2(self, ref, device):
        return self._set(ref, self.devices[device.value][3])


def test_probe_reads_the_driver():
    info = _cuda.probe(FakeDriver())
    assert info.available and info.driver == "12.8"
    assert info.gpus == (_cuda.Gpu(0, "NVIDIA Fake", "8.9", 24 << 10),)


def test_probe_says_why_not():
    assert "CUDA_ERROR_NO_DEVICE" in _cuda.probe(FakeDriver(init_status=100)).reason
    assert not _cuda.probe(FakeDriver(devices=())).available
    here = _cuda.probe()
    if not here.available:  # this machine: no driver library
        assert here.reason


def test_trt_modules_import_without_torch_tensorrt_or_cuda():
    import subprocess

    code = ("import sys\n"
            "for name in ('torch', 'tensorrt', 'cuda', 'pycuda', 'polygraphy'): sys.modules[name] = None\n"
            "import inpaint._cuda, inpaint.export.trt, inpaint.export.trt_cache, inpaint.cli.doctor\n"
            "import inpaint.runtime.backends.trt, inpaint.runtime.backends.cuda_memory as m\n"
            "from inpaint.runtime.backends.trt import unavailable_reason\n"
            "assert 'not installed' in unavailable_reason(), unavailable_reason()\n"
            "try:\n    m.pick_memory()\nexcept Exception as e:\n    assert 'cuda-python' in str(e), e\n"
            "print('ok')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
