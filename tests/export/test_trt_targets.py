"""What an engine needs of the machine that runs it: the plugin kernels' PTX ISA and driver (recorded at build,
checked at load), the default profile sized for the GPU's memory, and whether CUDA graphs can be captured.

The plan comes from the stand-in builder; the plugins' registration is replaced (no TensorRT here).
"""

from __future__ import annotations

import json

import pytest

from inpaint.errors import UserError
from inpaint.export import engine_file as E
from inpaint.export.trt import (
    DEFAULT_MAX_BATCH, DEFAULT_MAX_SIDE, Shapes, activation_bytes, build_engine, cuda_graph_blocker, default_max, default_shapes,
)
from inpaint.ops import triton_aot
from tests.runtime.backends.trt_backend.fakes import stand_in_builder
from tests.runtime.model_files import model_files, plugin_onnx  # noqa: F401  (session fixtures)


def _build(onnx, out, **kw):
    kw.setdefault("trt_version", "10.13.0.35")
    kw.setdefault("compute_capability", "8.6")
    kw.setdefault("driver", "12.8")
    return build_engine(onnx, out, plan_builder=kw.pop("plan_builder", stand_in_builder()), **kw)


@pytest.fixture
def plugins_registered(monkeypatch):
    from inpaint.ops import trt_plugins

    monkeypatch.setattr(trt_plugins, "register_all", lambda: ["inpaint::MaskAwareDynamicConv", "inpaint::MaskedAttentionAggregate"])


@pytest.mark.parametrize("cc,driver,isa,need", [("8.6", "12.8", "8.7", "12.8"), ("12.1", "13.0", "8.8", "12.9"), ("11.0", "13.0", "9.0", "13.0")])
def test_plugin_engine_header_records_isa_and_driver(plugin_onnx, tmp_path, plugins_registered, cc, driver, isa, need):
    seen = []

    def builder(*args):  # the aot_impl callbacks run inside the build: they must see this GPU and driver
        seen.append(triton_aot.build_target())
        return stand_in_builder()(*args)

    header = _build(plugin_onnx, tmp_path / "p.engine", compute_capability=cc, driver=driver, plan_builder=builder)
    assert header[E.KEY_PTX_ISA] == isa and header[E.KEY_MIN_DRIVER] == need
    assert seen == [triton_aot.BuildTarget(triton_aot.arch_int(cc), driver)]


def test_standard_graph_records_no_isa(model_files, tmp_path):
    header = _build(model_files["onnx"], tmp_path / "s.engine", compute_capability="13.0")  # no plugin kernels: any target
    assert header[E.KEY_PTX_ISA] == header[E.KEY_MIN_DRIVER] == ""


@pytest.mark.parametrize("cc,driver", [("12.1", "12.8"), ("13.0", "13.0"), ("7.0", "12.8")])
def test_plugin_build_refused_before_tensorrt_runs(plugin_onnx, tmp_path, plugins_registered, cc, driver):
    calls = []
    with pytest.raises(UserError, match="--ops standard"):
        _build(plugin_onnx, tmp_path / "p.engine", compute_capability=cc, driver=driver, plan_builder=stand_in_builder(calls))
    assert calls == [] and not (tmp_path / "p.engine").exists()


def test_engine_from_a_newer_driver_is_refused_in_one_line(plugin_onnx, tmp_path, plugins_registered):
    path = tmp_path / "p.engine"
    header = _build(plugin_onnx, path, compute_capability="12.1", driver="13.0")
    E.check_compatible(path, header, "10.13.0.35", "12.1", "12.9")
    E.check_compatible(path, header, "10.13.0.35", "12.1", "")  # unknown driver: not checked
    with pytest.raises(E.EngineFileError) as info:
        E.check_compatible(path, header, "10.13.0.35", "12.1", "12.8")
    message = str(info.value)
    assert "\n" not in message and "PTX ISA 8.8" in message and "CUDA 12.9" in message and "CUDA 12.8" in message


def test_default_profile_fits_the_gpu_memory(model_files, tmp_path):
    assert default_max(None) == (DEFAULT_MAX_BATCH, DEFAULT_MAX_SIDE)
    for memory_mb in (4096, 8192, 16384, 24576, 40960, 81920, 143771):
        for precision in ("fp32", "fp16"):
            batch, side = default_max(memory_mb, precision)
            assert activation_bytes(batch, side, side, precision) <= 0.5 * memory_mb * 2**20
    assert default_max(143771) == (4, 2048) and default_max(24576) == (2, 2048) and default_max(8192) == (1, 2048)
    assert default_max(4096) == (2, 1024) and default_max(4096, "fp16") == (1, 2048)
    # the figure the review gave: FAR's first ACR activation alone at 4 x 2048 x 2048 fp32 is ~4.3 GB; the estimate holds
    # that tensor (64 channels) within its 76 full-resolution channels x 3 live tensors
    assert activation_bytes(4, 2048, 2048) == 4 * 2048 * 2048 * 76 * 3 * 4 > 4 * 2048 * 2048 * 64 * 4
    header = _build(model_files["onnx"], tmp_path / "m.engine", gpu_memory_mb=8192)
    assert Shapes.from_profile(json.loads(header[E.KEY_PROFILES])[0]).max == (1, 2048, 2048)
    assert default_shapes(16, 64, max_side=1000, max_batch=2).max == (2, 1008, 1008)
    with pytest.raises(UserError, match="--max-batch"):
        default_shapes(16, 64, max_batch=-1)


def test_cuda_graph_blocker_names_data_dependent_ops(model_files, tmp_path):
    assert cuda_graph_blocker({("", "Conv"), ("inpaint", "MaskAwareDynamicConv")}) == ""
    assert "NonZero" in cuda_graph_blocker({("", "Conv"), ("", "NonZero")})
    header = _build(model_files["onnx"], tmp_path / "m.engine")
    assert header[E.KEY_CUDA_GRAPH] == ""  # MADF has no data-dependent shapes


def test_export_cli_max_side_flags(tmp_path, capsys):
    from inpaint.cli.main import main

    assert main(["export", str(tmp_path / "x.safetensors"), "--max-side", "512"]) == 2
    assert "--max-side: only for --engine trt" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "x.safetensors"), "--engine", "trt", "--max-batch", "2", "--shapes", "1x16x16,1x16x16,1x16x16"]) == 2
    assert "--shapes sets the whole profile" in capsys.readouterr().err
