"""The TensorRT runner's logic over a fake TensorRT and fake (deferred) CUDA memory.

What this proves: engine files are checked before TensorRT sees them, the streams / events / buffer
slots are ordered so that double buffering never reads or overwrites a buffer too early (the fake
memory runs queued work only when something waits for it), shapes outside the profile are named,
CUDA graphs are captured once per (slot, shape) and replayed, a refused cached plan is rebuilt.
What it does not prove: that real TensorRT and CUDA behave like the fakes (see test_trt_gpu.py).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from inpaint.errors import UserError
from inpaint.export import engine_file as E
from inpaint.export.trt import build_engine, parse_shapes
from inpaint.runtime.backends.trt import EngineFromFile, EngineFromOnnx, TrtRunner
from tests.runtime.backends.trt_backend.fakes import FILL, GPU, FakeMemory, fake_tensorrt, stand_in_builder

TRT = "10.13.0.35"


@pytest.fixture(scope="module")
def engine_file(model_files, tmp_path_factory):
    path = tmp_path_factory.mktemp("trt") / "madf-t.engine"
    build_engine(model_files["onnx"], path, shapes=parse_shapes("1x16x16,1x64x64,4x128x128", 16),
                 trt_version=TRT, compute_capability=GPU.compute_capability, plan_builder=stand_in_builder())
    return path


def _runner(path, memory=None, cuda_graph=False, version=TRT, loader=None):
    memory = memory or FakeMemory()
    trt = fake_tensorrt(memory, version)
    runner = TrtRunner(loader or EngineFromFile(path), cuda_graph=cuda_graph, memory=memory, trt_module=trt, gpu=GPU)
    return runner, memory, trt


def _batch(n, h, w, seed):
    rng = np.random.default_rng(seed)
    image = rng.random((n, 3, h, w), dtype=np.float32)
    mask = (rng.random((n, 1, h, w)) > 0.5).astype(np.float32)
    return image, mask


def _expected(image, mask):
    return np.where(mask > 0.5, FILL, image)


def test_infer_and_metadata(engine_file):
    runner, memory, _ = _runner(engine_file)
    with runner:
        assert runner.metadata.preset == "madf-t" and runner.stride == 16 and runner.metadata.ops == "standard"
        assert runner.device.startswith("cuda:0 (fp32, TensorRT 10.13.0.35")
        image, mask = _batch(2, 32, 48, 0)
        np.testing.assert_array_equal(runner.infer(image, mask), _expected(image, mask))
    assert memory.closed


def test_double_buffering_keeps_every_batch_intact(engine_file):
    """Submit k + 1 (and k + 2, reusing slot k's buffers) before collecting k: every result must be its own."""
    runner, memory, trt = _runner(engine_file)
    batches = [_batch(n, h, w, seed) for seed, (n, h, w) in enumerate([(1, 32, 32), (2, 32, 32), (1, 64, 16), (3, 16, 16), (1, 32, 32)])]
    with runner:
        pending = [runner.infer_async(image, mask) for image, mask in batches[:3]]
        # nothing ran yet for batch 2 (slot 0 again): batch 0 was finished and copied out before its buffers were reused
        results = [p.result() for p in pending]
        pending = [runner.infer_async(*b) for b in batches[3:]]
        results += [p.result() for p in reversed(pending)][::-1]
    for (image, mask), out in zip(batches, results):
        np.testing.assert_array_equal(out, _expected(image, mask))
    assert len(trt.executions) == 5


def test_slot_reuse_waits_for_the_old_result(engine_file):
    runner, memory, _ = _runner(engine_file)
    with runner:
        a, b, c = (_batch(1, 32, 32, s) for s in range(3))
        pa = runner.infer_async(*a)
        runner.infer_async(*b)
        runner.infer_async(*c)  # slot 0 again: pa must already hold batch a's output, not c's
        np.testing.assert_array_equal(pa.result(), _expected(*a))


def test_shape_outside_the_profile_is_named(engine_file):
    runner, _, _ = _runner(engine_file)
    with runner:
        with pytest.raises(UserError, match=r"5x32x32 .* outside the engine's profile 1x16x16 \.\. 4x128x128.*--shapes"):
            runner.infer(*_batch(5, 32, 32, 0))
        with pytest.raises(UserError, match="outside the engine's profile"):
            runner.infer(*_batch(1, 256, 16, 0))
        runner.infer(*_batch(4, 128, 128, 0))  # the max itself is inside


def test_cuda_graph_captured_once_per_slot_and_shape_then_replayed(engine_file):
    runner, memory, trt = _runner(engine_file, cuda_graph=True)
    batches = [_batch(2, 32, 32, s) for s in range(6)]
    with runner:
        outs = [runner.infer(*b) for b in batches]
        other = _batch(1, 64, 64, 9)
        out_other = runner.infer(*other)
    for b, out in zip(batches, outs):
        np.testing.assert_array_equal(out, _expected(*b))
    np.testing.assert_array_equal(out_other, _expected(*other))
    # batches 0 and 1: a plain run per slot, then a capture; batches 2-5: replays; the new shape: plain + capture
    assert memory.captures == 3 and memory.launches == 4


def test_cuda_graph_capture_failure_falls_back(engine_file, caplog):
    runner, memory, trt = _runner(engine_file, memory=FakeMemory(can_capture=False), cuda_graph=True)
    with caplog.at_level(logging.WARNING, logger="inpaint.runtime"), runner:
        outs = [(b, runner.infer(*b)) for b in (_batch(1, 32, 32, s) for s in range(4))]
    for b, out in outs:
        np.testing.assert_array_equal(out, _expected(*b))
    assert "CUDA graph capture failed" in caplog.text and memory.launches == 0 and memory.captures == 1


def test_engine_of_another_tensorrt_or_gpu_is_refused(engine_file):
    runner, _, _ = _runner(engine_file, version="10.14.1.0")
    with pytest.raises(E.EngineFileError, match="built by TensorRT 10.13.0.35, this machine has TensorRT 10.14.1.0"):
        runner.activate()
    assert not runner.is_active


def test_plan_tensorrt_refuses_is_named(engine_file, tmp_path):
    header, _ = E.read_engine_file(engine_file)
    bad = tmp_path / "bad.engine"
    E.write_engine_file(bad, b"not a plan TensorRT can read", header)  # whole file, foreign plan
    runner, _, _ = _runner(bad)
    with pytest.raises(E.EngineFileError, match="refused to deserialise"):
        runner.activate()


def test_raw_plan_is_refused_with_the_fix(tmp_path):
    raw = tmp_path / "trtexec.plan"
    raw.write_bytes(b"\x00\x01 raw TensorRT plan")
    runner, _, _ = _runner(raw)
    with pytest.raises(E.EngineFileError, match="raw TensorRT plan.*inpaint export MODEL.onnx --engine trt"):
        runner.activate()


def test_onnx_through_the_cache_rebuilds_a_refused_plan(model_files, tmp_path, monkeypatch):
    """A cached engine whose plan TensorRT will not deserialise (but whose file is whole) is rebuilt once."""
    from inpaint.export import trt_cache

    calls = []
    plans = iter([b"garbage", None])  # the first build writes a plan the fake refuses, the second a good one

    def builder(onnx_path, out, precision, shapes, metadata):
        plan = next(plans)
        calls.append(plan)
        good = stand_in_builder()
        build_engine(onnx_path, out, precision=precision, shapes=shapes, trt_version=TRT, compute_capability="8.6",
                     extra_metadata=metadata, plan_builder=(lambda *a: plan) if plan else good)

    real = trt_cache.cached_engine
    monkeypatch.setattr(trt_cache, "cached_engine", lambda *a, **k: real(*a, **{**k, "builder": builder}))
    runner, _, trt = _runner(None, loader=EngineFromOnnx(model_files["onnx"], cache_root=tmp_path))
    with runner:
        image, mask = _batch(1, 64, 64, 0)
        np.testing.assert_array_equal(runner.infer(image, mask), _expected(image, mask))
    assert calls == [b"garbage", None] and len(trt.deserialised) == 2


def test_cuda_graph_replay_after_another_shape_uses_the_shapes_own_context(engine_file):
    """Shapes A, B, A, B, ...: a graph captured for A is replayed on a context that never ran B (the fake writes
    NaN when a graph is replayed after its context was given another shape). The graph contexts share one
    user-managed activation block."""
    runner, memory, trt = _runner(engine_file, cuda_graph=True)
    shapes = [(1, 32, 32), (1, 32, 32), (2, 64, 48), (2, 64, 48)] * 3
    with runner:
        batches = [_batch(*shape, seed) for seed, shape in enumerate(shapes)]
        outs = [runner.infer(*b) for b in batches]
    for b, out in zip(batches, outs):
        np.testing.assert_array_equal(out, _expected(*b))
    # per slot: A captured, B captured (the buffers grow, so the slot's A graph is dropped), A captured again; then replays
    assert memory.captures == 6 and memory.launches == len(shapes) - 6
    graph_contexts = [c for c in trt.contexts if c.strategy == "USER_MANAGED"]
    assert len(graph_contexts) == 2 and len({c.device_memory for c in graph_contexts}) == 1
    assert graph_contexts[0].device_memory[1] == 1 << 16  # device_memory_size_v2


def test_cuda_graph_is_off_for_data_dependent_shapes(engine_file, tmp_path, caplog):
    header, plan = E.read_engine_file(engine_file)
    blocked = tmp_path / "far.engine"
    E.write_engine_file(blocked, plan, {**header, E.KEY_CUDA_GRAPH: "the graph has NonZero (data-dependent shapes)"})
    runner, memory, _ = _runner(blocked, cuda_graph=True)
    with caplog.at_level(logging.WARNING, logger="inpaint.runtime"), runner:
        batches = [_batch(1, 32, 32, s) for s in range(3)]
        outs = [runner.infer(*b) for b in batches]
        assert "NonZero" in runner.cuda_graph_off
    for b, out in zip(batches, outs):
        np.testing.assert_array_equal(out, _expected(*b))
    assert memory.captures == 0 and "--cuda-graph is off for far.engine" in caplog.text


def test_runner_refuses_an_engine_whose_kernels_need_a_newer_driver(engine_file, tmp_path):
    header, plan = E.read_engine_file(engine_file)
    path = tmp_path / "plugin.engine"
    E.write_engine_file(path, plan, {**header, E.KEY_PTX_ISA: "8.8", E.KEY_MIN_DRIVER: "12.9"})
    memory = FakeMemory()
    runner = TrtRunner(EngineFromFile(path), memory=memory, trt_module=fake_tensorrt(memory, TRT), gpu=GPU, driver="12.8")
    with pytest.raises(E.EngineFileError, match="PTX ISA 8.8.*CUDA 12.9.*CUDA 12.8"):
        runner.activate()
    runner = TrtRunner(EngineFromFile(path), memory=memory, trt_module=fake_tensorrt(memory, TRT), gpu=GPU, driver="13.0")
    with runner:
        runner.infer(*_batch(1, 16, 16, 0))
