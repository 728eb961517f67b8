"""The engine cache behind ``inpaint run model.onnx --engine trt``: build once, then reuse.

    path = cached_engine("madf.onnx")     # an engine file in cache_dir() / "trt", built on the first call

Folder: ``$INPAINT_CACHE`` when set, else the platform's user cache (``$XDG_CACHE_HOME/inpaint`` or
``~/.cache/inpaint`` on Linux, ``~/Library/Caches/inpaint`` on macOS, ``%LOCALAPPDATA%\\inpaint\\Cache`` on
Windows); engines live in its ``trt`` subfolder as ``<onnx stem>-<key>.engine``.

Key (:class:`CacheKey`): the ONNX file's sha256, the TensorRT version, the GPU's compute capability, the
precision, the optimisation profiles and :func:`inpaint.ops.trt_plugins.plugin_version` (source of the
plugins and kernels; "" for a standard-op graph). A change to any of them names another file.

An entry is used only when its file reads back whole (the plan's checksum, :mod:`inpaint.export.engine_file`)
and its header records the same key: a stale, foreign, truncated or corrupt file is rebuilt, never loaded.
Writes are atomic (``os.replace``); a lock file (``fcntl.flock``, POSIX) makes a second process that wants
the same key wait for the first build and reuse it. Where there is no ``fcntl`` (Windows), both build and the
later ``os.replace`` wins: the file is never mixed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from inpaint.errors import UserError
from inpaint.export import contract as C
from inpaint.export import engine_file as E
from inpaint.export.trt import KEY_GRAPH_PRECISION, Shapes, build_engine, default_shapes, read_onnx, resolve_precision

__all__ = ["KEY_CACHE_KEY", "CacheKey", "cache_dir", "engine_dir", "cached_engine", "invalidate", "Builder"]

log = logging.getLogger("inpaint.export")

#: header key of a cached engine: its :meth:`CacheKey.digest`
KEY_CACHE_KEY = "trt.cache_key"

#: builder(onnx_path, out, precision, shapes, metadata): writes the engine file ``out`` with ``metadata`` in its header
Builder = Callable[[Path, Path, str, Shapes, dict], None]


def cache_dir() -> Path:
    """``$INPAINT_CACHE``, else the platform's user cache folder for inpaint (see the module docstring)."""
    env = os.environ.get("INPAINT_CACHE")
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "inpaint" / "Cache"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "inpaint"
    return Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "inpaint"


def engine_dir(root: str | Path | None = None) -> Path:
    return (Path(root) if root is not None else cache_dir()) / "trt"


@dataclass(frozen=True)
class CacheKey:
    """Everything an engine depends on. profiles: JSON of the engine file's ``KEY_PROFILES`` entry."""

    onnx_sha256: str
    trt_version: str
    compute_capability: str
    precision: str
    profiles: str
    plugin_version: str

    def digest(self) -> str:
        """32 hex digits of sha256 over the fields (JSON, sorted keys)."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:32]

    def metadata(self) -> dict[str, str]:
        """The header entries a cached engine must carry (checked before reuse)."""
        return {
            KEY_CACHE_KEY: self.digest(),
            E.KEY_ONNX_SHA256: self.onnx_sha256,
            E.KEY_TRT_VERSION: self.trt_version,
            E.KEY_COMPUTE_CAPABILITY: self.compute_capability,
            E.KEY_PRECISION: self.precision,
            E.KEY_PROFILES: self.profiles,
            E.KEY_PLUGIN_VERSION: self.plugin_version,
        }


def _stale_reason(path: Path, key: CacheKey) -> str | None:
    """None when ``path`` is a whole engine file built for ``key``; else why not."""
    if not path.is_file():
        return "not built yet"
    try:
        header, _ = E.read_engine_file(path)
    except (UserError, OSError) as exc:
        return str(exc)
    for name, wanted in key.metadata().items():
        if header.get(name) != wanted:
            return f"its {name} is {header.get(name)!r}, not {wanted!r}"
    return None


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``lock_path`` (created); a no-op where there is no fcntl."""
    try:
        import fcntl
    except ImportError:  # Windows: atomic replace alone (see the module docstring)
        yield
        return
    with open(lock_path, "a+b") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process that is building %s", lock_path.with_suffix(".engine").name)
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _default_builder(timing_cache: Path, driver: str = "") -> Builder:
    def build(onnx_path: Path, out: Path, precision: str, shapes: Shapes, metadata: dict) -> None:
        build_engine(onnx_path, out, precision=precision, shapes=shapes, timing_cache=timing_cache,
                     trt_version=metadata[E.KEY_TRT_VERSION], compute_capability=metadata[E.KEY_COMPUTE_CAPABILITY],
                     driver=driver, extra_metadata=metadata)
    return build


def _this_machine() -> tuple[str, str, str, int]:
    """(TensorRT version, GPU 0's compute capability, the driver's CUDA version, GPU 0's memory in MiB)."""
    from inpaint._cuda import driver_info
    from inpaint._lazy import require

    info = driver_info()
    if not info.available:
        raise UserError(f"--engine trt: {info.reason}")
    return str(require("tensorrt").__version__), info.gpus[0].compute_capability, info.driver, info.gpus[0].memory_mb


def make_key(onnx_path: Path, precision: str | None = None, shapes: Shapes | None = None,
             trt_version: str = "", compute_capability: str = "", gpu_memory_mb: int | None = None) -> tuple[CacheKey, Shapes]:
    """The key of ``onnx_path`` built with these options on a machine with this TensorRT and GPU (whose memory
    sizes the default profile, :func:`inpaint.export.trt.default_shapes`)."""
    from inpaint._hashing import file_sha256
    from inpaint.ops.dynamic_conv.contract import DOMAIN

    meta, ops = read_onnx(onnx_path)
    engine_precision, _ = resolve_precision(precision, meta.get(KEY_GRAPH_PRECISION, "fp32"), trt_version, onnx_path)
    stride = int(meta[C.KEY_STRIDE])
    shapes = shapes or default_shapes(stride, int(meta.get(C.KEY_TRAIN_SIZE, "0") or 0), gpu_memory_mb, engine_precision)
    plugins = ""
    if any(domain == DOMAIN for domain, _ in ops):
        from inpaint.ops.trt_plugins import plugin_version

        plugins = plugin_version()
    key = CacheKey(file_sha256(onnx_path), trt_version, compute_capability, engine_precision,
                   json.dumps([shapes.profile()]), plugins)
    return key, shapes


def cached_engine(onnx_path: str | Path, *, precision: str | None = None, shapes: Shapes | None = None,
                  root: str | Path | None = None, builder: Builder | None = None,
                  trt_version: str | None = None, compute_capability: str | None = None, driver: str = "",
                  gpu_memory_mb: int | None = None) -> Path:
    """The path of a valid engine file for ``onnx_path``, building it when the cache has none.

    precision: None = the graph's own. shapes: None = the model's default profile. root: the cache folder
    [default: :func:`cache_dir`]. builder: writes the engine (default: :func:`inpaint.export.trt.build_engine`
    with a timing cache beside the engines). trt_version / compute_capability / driver / gpu_memory_mb: default
    this machine's (the driver caps the plugin kernels' PTX ISA; the memory sizes the default profile).
    """
    onnx_path = Path(onnx_path)
    if trt_version is None or compute_capability is None:
        here = _this_machine()
        trt_version, compute_capability = trt_version or here[0], compute_capability or here[1]
        driver, gpu_memory_mb = driver or here[2], gpu_memory_mb or here[3]
    key, shapes = make_key(onnx_path, precision, shapes, trt_version, compute_capability, gpu_memory_mb)
    folder = engine_dir(root)
    path = folder / f"{onnx_path.stem}-{key.digest()}.engine"
    if _stale_reason(path, key) is None:
        log.debug("reusing the cached TensorRT engine %s", path)
        return path
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(path.with_suffix(".lock")):
        reason = _stale_reason(path, key)  # another process may have built it while we waited
        if reason is None:
            return path
        if reason != "not built yet":
            log.info("the cached engine %s is unusable (%s); rebuilding it", path.name, reason)
        else:
            log.info("building the TensorRT engine of %s once (cached in %s; later runs reuse it)", onnx_path.name, folder)
        build = builder or _default_builder(folder / f"timing-{trt_version}-sm{compute_capability.replace('.', '')}.cache", driver)
        build(onnx_path, path, key.precision, shapes, key.metadata())
        reason = _stale_reason(path, key)
        if reason is not None:
            raise RuntimeError(f"the engine builder wrote {path} but it does not read back ({reason})")
    return path


def invalidate(path: str | Path) -> None:
    """Remove a cached engine that TensorRT refused to load (the next :func:`cached_engine` rebuilds it)."""
    Path(path).unlink(missing_ok=True)
