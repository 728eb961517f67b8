"""The ``.engine`` file: a TensorRT plan with the model's metadata in front (no torch, no TensorRT here).

``inpaint export --engine trt`` writes it; ``inpaint run model.engine`` reads it, so a runtime needs
nothing but this one file: the graph contract's ``metadata_props`` (:mod:`inpaint.export.contract`) plus
what decides whether the plan can be deserialised on this machine (TensorRT version, compute capability,
precision, optimisation profiles, plugin version).

Layout (all integers little-endian)::

    MAGIC               12 bytes  b"INPAINT-TRT\\0"
    FORMAT_VERSION      uint32
    header length       uint64    L
    header              L bytes   UTF-8 JSON object, str -> str (metadata keys below)
    plan length         uint64    P
    plan                P bytes   the serialised TensorRT engine (``IHostMemory``)

The header records the plan's sha256 (``KEY_PLAN_SHA256``): a truncated or corrupted file is refused
here, before TensorRT sees it (``deserialize_cuda_engine`` returns None on a bad plan rather than raising).
A raw plan written by trtexec has no header: :func:`read_engine_file` names it as such.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import uuid
from pathlib import Path

from inpaint.errors import UserError

__all__ = [
    "MAGIC", "FORMAT_VERSION", "EngineFileError",
    "KEY_TRT_VERSION", "KEY_COMPUTE_CAPABILITY", "KEY_PRECISION", "KEY_PROFILES", "KEY_PLUGIN_VERSION",
    "KEY_ONNX_SHA256", "KEY_PLAN_SHA256", "KEY_PTX_ISA", "KEY_MIN_DRIVER", "KEY_CUDA_GRAPH",
    "write_engine_file", "read_engine_header", "read_engine_file", "check_compatible",
]

MAGIC = b"INPAINT-TRT\x00"
FORMAT_VERSION = 1

KEY_TRT_VERSION = "trt.version"  # tensorrt.__version__ that built the plan, e.g. "10.13.3.9"
KEY_COMPUTE_CAPABILITY = "trt.compute_capability"  # "8.6" (major.minor of the GPU that built it)
KEY_PRECISION = "trt.precision"  # "fp32" | "fp16" | "bf16"
KEY_PROFILES = "trt.profiles"  # JSON: [{"image": [[min], [opt], [max]], "mask": [...]}, ...] NCHW shapes
KEY_PLUGIN_VERSION = "trt.plugin_version"  # inpaint.ops plugin source version ("" for a standard-op graph)
KEY_ONNX_SHA256 = "trt.onnx_sha256"  # sha256 of the .onnx the plan was built from
KEY_PLAN_SHA256 = "trt.plan_sha256"  # sha256 of the plan bytes (integrity)
KEY_PTX_ISA = "trt.ptx_isa"  # PTX ISA of the plugin kernels, "8.8" ("" for a standard-op graph)
KEY_MIN_DRIVER = "trt.min_driver"  # the oldest driver (its CUDA version, "12.9") that loads those kernels
KEY_CUDA_GRAPH = "trt.cuda_graph"  # "" when CUDA graphs can be captured, else why not ("NonZero: ...")

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class EngineFileError(UserError):
    """The file is not an inpaint engine file, is truncated or corrupt, or was built for another machine."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_engine_file(path: str | Path, plan: bytes, metadata: dict[str, str]) -> None:
    """Write ``plan`` with ``metadata`` (str -> str) to ``path`` atomically.

    The bytes go to a uniquely named hidden file beside ``path`` and are ``os.replace``-d onto it, so a
    reader sees the old file or the whole new one, and two processes writing the same path do not mix.
    ``KEY_PLAN_SHA256`` is added (overwritten) here.
    """
    path = Path(path)
    plan = bytes(plan)
    header = {str(k): str(v) for k, v in metadata.items()}
    header[KEY_PLAN_SHA256] = _sha256(plan)
    blob = json.dumps(header, sort_keys=True).encode("utf-8")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "wb") as f:
            f.write(MAGIC + _U32.pack(FORMAT_VERSION) + _U64.pack(len(blob)) + blob + _U64.pack(len(plan)))
            f.write(plan)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _read_header(f, path: Path) -> dict[str, str]:
    head = f.read(len(MAGIC) + _U32.size + _U64.size)
    if not head.startswith(MAGIC):
        raise EngineFileError(
            f"{path}: not an inpaint engine file (a raw TensorRT plan, e.g. from trtexec, has no model metadata); "
            "build it with 'inpaint export MODEL.onnx --engine trt'"
        )
    if len(head) < len(MAGIC) + _U32.size + _U64.size:
        raise EngineFileError(f"{path}: truncated engine file; rebuild it with 'inpaint export --engine trt'")
    (version,) = _U32.unpack_from(head, len(MAGIC))
    if version != FORMAT_VERSION:
        raise EngineFileError(
            f"{path}: engine file format {version}, this inpaint reads format {FORMAT_VERSION}; rebuild it with "
            "'inpaint export --engine trt'"
        )
    (length,) = _U64.unpack_from(head, len(MAGIC) + _U32.size)
    blob = f.read(length)
    try:
        if len(blob) != length:
            raise ValueError("short header")
        header = json.loads(blob.decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("header is not an object")
    except ValueError as exc:
        raise EngineFileError(f"{path}: corrupt engine file header ({exc}); rebuild it with 'inpaint export --engine trt'") from None
    return {str(k): str(v) for k, v in header.items()}


def read_engine_header(path: str | Path) -> dict[str, str]:
    """The metadata of an engine file without reading its plan. Raises EngineFileError for a foreign file."""
    path = Path(path)
    with open(path, "rb") as f:
        return _read_header(f, path)


def read_engine_file(path: str | Path) -> tuple[dict[str, str], bytes]:
    """(metadata, plan bytes) of an engine file; EngineFileError when it is foreign, truncated or corrupt."""
    path = Path(path)
    with open(path, "rb") as f:
        header = _read_header(f, path)
        size = f.read(_U64.size)
        plan = f.read(_U64.unpack(size)[0]) if len(size) == _U64.size else b""
        trailing = f.read(1)
    if len(size) != _U64.size or _sha256(plan) != header.get(KEY_PLAN_SHA256) or trailing:
        raise EngineFileError(f"{path}: truncated or corrupt engine (plan checksum differs); rebuild it with 'inpaint export --engine trt'")
    return header, plan


def _version(text: str) -> tuple[int, int]:
    parts = (str(text).split(".") + ["0"])[:2]
    return tuple(int(p) if p.isdigit() else 0 for p in parts)  # type: ignore[return-value]


def check_compatible(path: str | Path, metadata: dict[str, str], trt_version: str, compute_capability: str, driver: str = "") -> None:
    """Raise EngineFileError when the engine was built by another TensorRT version or for another GPU architecture,
    or its plugin kernels need a newer driver than this one.

    trt_version: ``tensorrt.__version__`` here. compute_capability: "major.minor" of the GPU that will run it.
    driver: the CUDA version this machine's driver supports ("12.8"; "" = unknown, not checked).
    An engine runs only on the TensorRT version and GPU architecture that built it (TENSORRT.md); its plugin
    kernels' PTX loads only on drivers at least as new as their ISA (``KEY_MIN_DRIVER``), and would otherwise
    fail only when the engine runs, with an opaque error.
    """
    built_trt, built_cc = metadata.get(KEY_TRT_VERSION, "?"), metadata.get(KEY_COMPUTE_CAPABILITY, "?")
    if built_trt != trt_version:
        raise EngineFileError(
            f"{path}: built by TensorRT {built_trt}, this machine has TensorRT {trt_version}; rebuild it here "
            "('inpaint export MODEL.onnx --engine trt') or run the .onnx with --engine trt (cached build)"
        )
    if built_cc != compute_capability:
        raise EngineFileError(
            f"{path}: built for compute capability {built_cc}, this GPU is {compute_capability}; rebuild it on this "
            "machine ('inpaint export MODEL.onnx --engine trt')"
        )
    need = metadata.get(KEY_MIN_DRIVER, "")
    if need and driver and _version(driver) < _version(need):
        raise EngineFileError(
            f"{path}: its plugin kernels are PTX ISA {metadata.get(KEY_PTX_ISA, '?')}, which NVIDIA drivers for CUDA {need} or "
            f"later load, and this driver supports CUDA {driver}; update the driver, or build the engine here from a "
            "standard-op graph ('inpaint export CKPT --engine trt --ops standard')"
        )
