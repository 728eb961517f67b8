"""ONNX Runtime session settings of the onnx backend: physical cores, arena, prepacking, and that they reach the
session and leave the results unchanged."""

from __future__ import annotations

import os

import numpy as np

from inpaint.runtime.backends import onnx as onnx_backend


def test_physical_cores_counts_hyperthread_siblings_once(monkeypatch, tmp_path):
    topology = {0: "0,2", 1: "1,3", 2: "0,2", 3: "1,3"}  # 2 cores, 2 threads each
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    real_open = open

    def fake_open(path, *args, **kwargs):
        if str(path).startswith("/sys/devices/system/cpu/cpu"):
            cpu = int(str(path).split("/cpu/cpu")[1].split("/")[0])
            target = tmp_path / f"cpu{cpu}"
            target.write_text(topology[cpu] + "\n")
            return real_open(target, *args, **kwargs)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fake_open)
    assert onnx_backend.physical_cores() == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {1})  # a container limited to one CPU
    assert onnx_backend.physical_cores() == 1


def test_session_options_defaults_and_overrides():
    options = onnx_backend.session_options()
    assert options.intra_op_num_threads == onnx_backend.physical_cores() >= 1
    assert options.enable_cpu_mem_arena is onnx_backend.MEMORY_ARENA and options.enable_mem_pattern is onnx_backend.MEMORY_PATTERN
    assert options.enable_mem_reuse is onnx_backend.MEMORY_REUSE is False
    assert options.get_session_config_entry("session.disable_prepacking") == ("0" if onnx_backend.PREPACK_WEIGHTS else "1")
    options = onnx_backend.session_options(threads=3, arena=not onnx_backend.MEMORY_ARENA, prepack=False)
    assert options.intra_op_num_threads == 3 and options.enable_cpu_mem_arena is not onnx_backend.MEMORY_ARENA
    assert options.get_session_config_entry("session.disable_prepacking") == "1"


def test_every_setting_gives_the_same_image(model_files):
    image = np.random.default_rng(0).random((1, 3, 32, 48), dtype=np.float32)
    mask = np.zeros((1, 1, 32, 48), np.float32)
    mask[..., 8:24, 10:30] = 1
    outs = []
    for threads, arena, prepack in [(1, True, True), (2, False, False), (None, onnx_backend.MEMORY_ARENA, onnx_backend.PREPACK_WEIGHTS)]:
        loader = onnx_backend.SessionFromOnnx(model_files["onnx"], "cpu", threads=threads, arena=arena, prepack=prepack)
        session = loader()
        assert session.get_session_options().intra_op_num_threads == (threads or onnx_backend.physical_cores())
        assert session.get_session_options().enable_cpu_mem_arena is arena
        outs.append(session.run(None, {"image": image, "mask": mask})[0])
    assert all(np.abs(o - outs[0]).max() < 1e-5 for o in outs[1:])
    assert np.abs(outs[0] - image)[mask.repeat(3, 1) > 0].max() > 1e-3  # the hole was filled by the network
