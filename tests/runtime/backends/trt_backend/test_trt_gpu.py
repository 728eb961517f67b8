"""TensorRT on a real GPU: engines against ONNX Runtime, the cache, CUDA graphs, double buffering.

Runs only where TensorRT (>= 10.9) imports and a CUDA GPU answers; skipped here with the reason. On a GPU
machine: ``pip install -e '.[trt,test]' && pytest -m gpu tests/runtime/backends/trt_backend -rs``.

Reference: ONNX Runtime on the CPU running the same .onnx (float32). Tolerances from the issue: float32
engines within 1e-3 (max abs), float16 engines PSNR >= 40 dB over the hole (known pixels are the input's
in both, so they are left out of the figure rather than inflating it).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from inpaint.runtime.backends.trt import unavailable_reason

_REASON = unavailable_reason()
pytestmark = [pytest.mark.gpu, pytest.mark.slow,
              pytest.mark.skipif(_REASON is not None, reason=f"needs TensorRT and a CUDA GPU: {_REASON}")]

PRESETS = ("madf-t", "madf-s", "far-t")
FP32_ATOL = 1e-3
FP16_MIN_PSNR_DB = 40.0


def _export(preset: str, ops: str, folder, precision: str = "fp32"):
    import torch

    from inpaint.export.onnx import export_onnx
    from inpaint.models import build_model

    torch.manual_seed(0)
    model = build_model(preset).eval()
    path = folder / f"{preset}-{ops}-{precision}.onnx"
    kwargs = {}
    if precision != "fp32":
        if "precision" not in inspect.signature(export_onnx).parameters:
            return None
        kwargs["precision"] = precision
    if "target" in inspect.signature(export_onnx).parameters:
        kwargs["target"] = "trt"
    export_onnx(model, path, ops=ops, **kwargs)
    return path, model.stride


def _inputs(stride: int, n: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    h, w = 2 * stride, 3 * stride
    image = rng.random((n, 3, h, w), dtype=np.float32)
    mask = np.zeros((n, 1, h, w), np.float32)
    mask[..., h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = 1
    return image, mask


def _shapes(stride: int):
    from inpaint.export.trt import parse_shapes

    s = stride
    return parse_shapes(f"1x{s}x{s},2x{2 * s}x{3 * s},2x{4 * s}x{4 * s}", s)


def _ort(onnx_path, image, mask):
    from inpaint.runtime.backends.onnx import load

    with load(onnx_path, "cpu") as runner:
        return runner.infer(image, mask)


def _trt(engine_path, image, mask, **kw):
    from inpaint.runtime.backends.trt import load

    with load(engine_path, "cuda", **kw) as runner:
        return runner.infer(image, mask)


def _hole_psnr(a, b, mask):
    hole = np.broadcast_to(mask > 0.5, a.shape)
    mse = float(np.mean((a[hole] - b[hole]) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


@pytest.mark.parametrize("ops", ["standard", "plugin"])
@pytest.mark.parametrize("preset", PRESETS)
def test_fp32_engine_matches_onnx_runtime(preset, ops, tmp_path):
    from inpaint.export.trt import build_engine

    onnx_path, stride = _export(preset, ops, tmp_path)
    engine = tmp_path / f"{preset}-{ops}.engine"
    build_engine(onnx_path, engine, precision="fp32", shapes=_shapes(stride))
    image, mask = _inputs(stride)
    out, ref = _trt(engine, image, mask), _ort(onnx_path, image, mask)
    assert np.abs(out - ref).max() <= FP32_ATOL
    np.testing.assert_array_equal(out[np.broadcast_to(mask < 0.5, out.shape)], image[np.broadcast_to(mask < 0.5, image.shape)])


@pytest.mark.parametrize("ops", ["standard", "plugin"])
@pytest.mark.parametrize("preset", PRESETS)
def test_fp16_engine_psnr(preset, ops, tmp_path):
    import tensorrt

    from inpaint.export.trt import build_engine, version_tuple

    fp32_path, stride = _export(preset, ops, tmp_path)
    exported = _export(preset, ops, tmp_path, "fp16")
    if exported is None and version_tuple(tensorrt.__version__)[0] >= 11:
        pytest.skip("this inpaint's exporter writes no fp16 graph, and TensorRT 11 needs one")
    source = exported[0] if exported else fp32_path  # TensorRT 10 without an fp16 graph: the FP16 builder flag
    engine = tmp_path / f"{preset}-{ops}-fp16.engine"
    build_engine(source, engine, precision="fp16", shapes=_shapes(stride))
    image, mask = _inputs(stride)
    psnr = _hole_psnr(_trt(engine, image, mask), _ort(fp32_path, image, mask), mask)
    assert psnr >= FP16_MIN_PSNR_DB, f"{preset} {ops} fp16: {psnr:.1f} dB"


def test_onnx_through_the_cache_builds_once(tmp_path, monkeypatch):
    from inpaint.runtime.backends import load_runner

    monkeypatch.setenv("INPAINT_CACHE", str(tmp_path / "cache"))
    onnx_path, stride = _export("madf-t", "standard", tmp_path)
    image, mask = _inputs(stride, n=1)
    with load_runner(onnx_path, "trt") as runner:
        first = runner.infer(image, mask)
    (engine,) = (tmp_path / "cache" / "trt").glob("*.engine")
    built = engine.stat().st_mtime_ns
    with load_runner(onnx_path, "auto") as runner:  # auto takes TensorRT here, and reuses the engine
        assert runner.name == "trt"
        again = runner.infer(image, mask)
    assert engine.stat().st_mtime_ns == built and len(list((tmp_path / "cache" / "trt").glob("*.engine"))) == 1
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - _ort(onnx_path, image, mask)).max() <= FP32_ATOL


@pytest.mark.parametrize("provider", ["torch", "cuda-python"])
def test_cuda_graphs_and_double_buffering_match_plain_runs(provider, tmp_path):
    from inpaint.export.trt import build_engine
    from inpaint.runtime.backends import cuda_memory
    from inpaint.runtime.backends.trt import EngineFromFile, TrtRunner

    cls = {"torch": cuda_memory.TorchMemory, "cuda-python": cuda_memory.CudaPythonMemory}[provider]
    module = {"torch": "torch", "cuda-python": "cuda.bindings"}[provider]
    pytest.importorskip(module)
    onnx_path, stride = _export("madf-t", "standard", tmp_path)
    engine = tmp_path / "m.engine"
    build_engine(onnx_path, engine, shapes=_shapes(stride))
    batches = [_inputs(stride, n=2, seed=s) for s in range(5)]
    with TrtRunner(EngineFromFile(engine), memory=cls()) as plain:
        expected = [plain.infer(*b) for b in batches]
    with TrtRunner(EngineFromFile(engine), cuda_graph=True, memory=cls()) as graphed:
        pending = [graphed.infer_async(*b) for b in batches[:2]]
        got = [p.result() for p in pending] + [graphed.infer(*b) for b in batches[2:]]
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(e, g)
