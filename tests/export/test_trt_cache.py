"""The engine cache: keys, reuse, rebuilding stale / foreign / truncated / corrupt entries, two processes at once.

A stand-in builder writes the engine (through the real :func:`inpaint.export.trt.build_engine`), so
nothing here needs TensorRT.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from inpaint.export import engine_file as E
from inpaint.export import trt_cache
from inpaint.export.trt import build_engine, parse_shapes
from inpaint.export.trt_cache import CacheKey, cache_dir, cached_engine, make_key
from tests.runtime.backends.trt_backend.fakes import stand_in_builder
from tests.runtime.model_files import model_files  # noqa: F401  (session fixture)

TRT, CC = "10.13.0.35", "8.6"


class CountingBuilder:
    def __init__(self):
        self.calls = []

    def __call__(self, onnx_path, out, precision, shapes, metadata):
        self.calls.append((precision, shapes))
        build_engine(onnx_path, out, precision=precision, shapes=shapes, trt_version=metadata[E.KEY_TRT_VERSION],
                     compute_capability=metadata[E.KEY_COMPUTE_CAPABILITY], extra_metadata=metadata,
                     plan_builder=stand_in_builder())


def _get(onnx, root, builder, **kw):
    return cached_engine(onnx, root=root, builder=builder, trt_version=kw.pop("trt", TRT), compute_capability=kw.pop("cc", CC), **kw)


def test_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("INPAINT_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("INPAINT_CACHE")
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert cache_dir() == tmp_path / "xdg" / "inpaint"
        monkeypatch.delenv("XDG_CACHE_HOME")
        assert cache_dir() == Path.home() / ".cache" / "inpaint"


def test_key_changes_with_each_input():
    base = CacheKey("a" * 64, TRT, CC, "fp32", "[]", "")
    digests = {base.digest()}
    for field, value in [("onnx_sha256", "b" * 64), ("trt_version", "10.14.0"), ("compute_capability", "9.0"),
                         ("precision", "fp16"), ("profiles", "[{}]"), ("plugin_version", "0123abcd")]:
        digests.add(dataclasses.replace(base, **{field: value}).digest())
    assert len(digests) == 7
    assert CacheKey("a" * 64, TRT, CC, "fp32", "[]", "").digest() == base.digest()  # deterministic


def test_make_key_reads_the_file_options_and_machine(model_files, tmp_path):
    onnx = model_files["onnx"]
    key, shapes = make_key(onnx, None, None, TRT, CC)
    assert key.precision == "fp32" and key.plugin_version == "" and shapes.opt == (1, 64, 64)
    other = [
        make_key(onnx, "fp16", None, TRT, CC)[0],
        make_key(onnx, None, parse_shapes("1x16x16,1x32x32,1x64x64", 16), TRT, CC)[0],
        make_key(onnx, None, None, "10.14.1", CC)[0],
        make_key(onnx, None, None, TRT, "9.0")[0],
    ]
    copy = tmp_path / onnx.name
    import onnx as onnx_lib

    proto = onnx_lib.load(str(onnx))
    proto.doc_string = "same graph, another file"  # another sha256
    onnx_lib.save(proto, str(copy))
    other.append(make_key(copy, None, None, TRT, CC)[0])
    assert len({key.digest(), *(k.digest() for k in other)}) == 6


def test_builds_once_then_reuses(model_files, tmp_path):
    builder = CountingBuilder()
    first = _get(model_files["onnx"], tmp_path, builder)
    again = _get(model_files["onnx"], tmp_path, builder)
    assert first == again and len(builder.calls) == 1 and first.parent == tmp_path / "trt"
    header, _ = E.read_engine_file(first)
    assert header[trt_cache.KEY_CACHE_KEY] in first.name
    _get(model_files["onnx"], tmp_path, builder, precision="fp16")  # another key: another build, another file
    _get(model_files["onnx"], tmp_path, builder, cc="9.0")
    assert len(builder.calls) == 3 and len(list((tmp_path / "trt").glob("*.engine"))) == 3


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["corrupt", "truncated", "raw-plan", "foreign-header", "empty"])
def test_bad_entry_is_rebuilt_never_loaded(model_files, tmp_path, damage):
    builder = CountingBuilder()
    path = _get(model_files["onnx"], tmp_path, builder)
    good = path.read_bytes()
    if damage == "corrupt":
        _flip_last_byte(path)
    elif damage == "truncated":
        path.write_bytes(good[: len(good) - 3])
    elif damage == "raw-plan":
        path.write_bytes(b"a trtexec plan without a header")
    elif damage == "foreign-header":  # a whole file, but built for another TensorRT
        header, plan = E.read_engine_file(path)
        E.write_engine_file(path, plan, {**header, E.KEY_TRT_VERSION: "10.0.0"})
    else:
        path.write_bytes(b"")
    assert _get(model_files["onnx"], tmp_path, builder) == path
    assert len(builder.calls) == 2 and path.read_bytes() == good
    E.read_engine_file(path)  # whole again


def test_builder_that_writes_nothing_is_an_error(model_files, tmp_path):
    with pytest.raises(RuntimeError, match="does not read back"):
        _get(model_files["onnx"], tmp_path, lambda *a: None)


_WORKER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from inpaint.export import engine_file as E
    from inpaint.export.trt import build_engine
    from inpaint.export.trt_cache import cached_engine
    from tests.runtime.backends.trt_backend.fakes import stand_in_builder

    onnx, root, log = sys.argv[1:4]

    def slow_builder(onnx_path, out, precision, shapes, metadata):
        with open(log, "a") as f:
            f.write("build\\n")
        # build only once the other process has reached cached_engine too (it then waits on the lock)
        deadline = time.monotonic() + 60
        while len(list(Path(root).glob("ready-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        build_engine(onnx_path, out, precision=precision, shapes=shapes, trt_version=metadata[E.KEY_TRT_VERSION],
                     compute_capability=metadata[E.KEY_COMPUTE_CAPABILITY], extra_metadata=metadata,
                     plan_builder=stand_in_builder())

    Path(root, f"ready-{os.getpid()}").touch()
    path = cached_engine(onnx, root=root, builder=slow_builder, trt_version="10.13.0.35", compute_capability="8.6")
    E.read_engine_file(path)
    print(path)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="the lock is fcntl.flock (POSIX); Windows relies on os.replace alone")
def test_two_processes_build_one_key_once(model_files, tmp_path):
    log = tmp_path / "builds.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", _WORKER, str(model_files["onnx"]), str(tmp_path), str(log)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    paths = {o[0].strip().splitlines()[-1] for o in outs}
    assert len(paths) == 1
    assert log.read_text().count("build") == 1  # the second process waited and reused the first one's engine
    assert not [p for p in (tmp_path / "trt").iterdir() if ".tmp-" in p.name]  # no temporary file left
