"""ONNX Runtime backend: runs a ``.onnx`` file written by ``inpaint export`` (no torch, no onnx package).

Loader (a lazy noun, Polygraphy style) and runner:

    runner = OnnxRunner(SessionFromOnnx("madf.onnx", device="auto"))
    with runner:
        out = runner.infer(image, mask)     # see inpaint.runtime.backends.base

Providers: CUDA when ``onnxruntime.get_available_providers()`` has it (onnxruntime-gpu installed), then CPU.
Graphs exported with ``--ops plugin`` hold ``inpaint``-domain nodes; their session gets the
onnxruntime-extensions kernels from :func:`inpaint.ops.ort_custom_ops.custom_op_session_options`.

Session settings (:func:`session_options`), chosen by measuring MADF and FAR at 512 x 512 on the CPU
(``benchmarks/ort_settings.py``; figures in the README, "ONNX Runtime settings"):

- threads: ``intra_op_num_threads`` = the physical cores this process may run on (:func:`physical_cores`:
  the CPU affinity mask, hyper-thread siblings counted once), one inter-op thread (the graphs are one chain);
  ONNX Runtime's own default counts the host's cores, not the container's or the affinity mask's;
- memory arena on (ONNX Runtime's default) and memory patterns off (``enable_mem_pattern = False``): the memory
  pattern plans one block for all of a run's intermediate tensors, which for MADF at 512 x 512 put the peak
  340 MB higher (1432 vs 1095 MB) at no measurable gain in time; without the arena every large tensor is a
  fresh ``mmap`` whose pages fault in again on each run (FAR: up to 2x slower under load, peak only 5-10 % lower);
- memory reuse off (``enable_mem_reuse = False``): ONNX Runtime's planner hands a freed tensor's buffer to a later
  tensor with the same symbolic shape, however far away in the graph, and the buffer then stays allocated in
  between. In these dynamic-shape graphs that kept the gated deconvs' phase buffers of FAR's prior encoder alive
  through the nine FFC blocks until the up convolutions reused them: FAR at 512 x 512 peak 1119 -> 780 MB (int8
  MAE weights; 1604 -> 1053 MB in float32), MADF 842 -> 798 MB, same latency (1.66 / 1.63 s, 0.75 / 0.77 s).
  Without its planned reuse the arena still recycles freed blocks;
- weight prepacking on (ONNX Runtime's default): switching it off changed neither peak nor resident memory
  measurably here, and it lets Conv / MatMul skip repacking their weights on every call;
- after the session is built, the C heap's free memory goes back to the system (glibc ``malloc_trim``, Linux):
  loading parses the whole file and copies its weights, and the freed parse buffers otherwise stay resident.
  MADF at 512 x 512: resident after loading 787 -> 401 MB, peak 1091 -> 805 MB, same latency.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

import numpy as np

from inpaint._lazy import require
from inpaint.errors import UserError
from inpaint.export import contract as C
from inpaint.ops.ort_custom_ops import custom_op_session_options, graph_custom_ops
from inpaint.runtime.backends.base import ModelInfo, Runner

__all__ = ["SessionFromOnnx", "OnnxRunner", "load", "owned", "physical_cores", "providers_for", "session_options"]

CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"


def providers_for(device: str) -> list[str]:
    """ONNX Runtime providers for ``device``: "auto" (CUDA when installed, else CPU), "cpu" or "cuda"."""
    available = require("onnxruntime").get_available_providers()
    if device == "cpu":
        return [CPU]
    if CUDA in available:
        return [CUDA, CPU]
    if device == "cuda":
        raise UserError(
            "--device cuda: this onnxruntime has no CUDA provider; install onnxruntime-gpu (instead of onnxruntime) or use --device cpu"
        )
    return [CPU]


def physical_cores() -> int:
    """Physical cores among the CPUs this process may run on (Linux: affinity mask and
    ``/sys/devices/system/cpu/cpuN/topology/thread_siblings_list``); elsewhere ``os.cpu_count()``."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
    cores = set()
    for cpu in cpus:
        try:
            with open(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list") as f:
                cores.add(f.read().strip())
        except OSError:
            cores.add(str(cpu))  # no topology: count the CPU itself
    return max(1, len(cores))


#: the settings :func:`session_options` applies by default (module docstring: measured, not guessed)
MEMORY_ARENA = True
PREPACK_WEIGHTS = True
MEMORY_PATTERN = False
MEMORY_REUSE = False


def session_options(options=None, threads: int | None = None, arena: bool = MEMORY_ARENA, prepack: bool = PREPACK_WEIGHTS):
    """Set this backend's settings on ``options`` (a new ``onnxruntime.SessionOptions`` when None) and return it.

    threads: intra-op threads, default :func:`physical_cores`; arena: ONNX Runtime's CPU memory arena;
    prepack: weight prepacking (``session.disable_prepacking`` when False).
    """
    ort = require("onnxruntime")
    options = options or ort.SessionOptions()
    options.intra_op_num_threads = threads or physical_cores()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.enable_cpu_mem_arena = arena
    options.enable_mem_pattern = MEMORY_PATTERN
    options.enable_mem_reuse = MEMORY_REUSE
    options.add_session_config_entry("session.disable_prepacking", "0" if prepack else "1")
    return options


def release_free_heap() -> bool:
    """Return the C heap's free pages to the system (glibc ``malloc_trim(0)``); False where there is no glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):  # no C library by that name, or not glibc (macOS, musl)
        return False


def owned(out: np.ndarray) -> np.ndarray:
    """``out`` as an array that owns its memory (a copy when it is a view).

    ``InferenceSession.run`` returns views of ONNX Runtime's own buffers, from its memory arena; an output still held
    while the next batch runs pins its arena block, and the arena then grows by a whole new region: FAR at 512 x 512
    peaked at 877 instead of 777 MB from the third run on. The copy is one pass over the output (3 MB there).
    """
    return out if out.flags.owndata else np.array(out, copy=True)


class SessionFromOnnx:
    """Lazy loader: calling it returns an ``onnxruntime.InferenceSession`` for ``path``.

    device: "auto" | "cpu" | "cuda" (see :func:`providers_for`); threads, arena, prepack: :func:`session_options`.
    """

    def __init__(self, path: str | Path, device: str = "auto", threads: int | None = None, arena: bool = MEMORY_ARENA,
                 prepack: bool = PREPACK_WEIGHTS):
        self.path = Path(path)
        self.device = device
        self.threads, self.arena, self.prepack = threads, arena, prepack

    def __call__(self):
        ort = require("onnxruntime")
        if not self.path.is_file():
            raise UserError(f"{self.path}: no such ONNX model; pass a .onnx file written by 'inpaint export'")
        custom = graph_custom_ops(self.path)  # scans the file: needs neither onnx nor torch
        options = custom_op_session_options(custom) if custom else ort.SessionOptions()
        options = session_options(options, self.threads, self.arena, self.prepack)
        providers = providers_for(self.device)  # its own message (e.g. no CUDA provider): not a model problem
        try:
            session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types (Fail, InvalidGraph, ...)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UserError(f"{self.path}: ONNX Runtime cannot load this model ({first}); export it again with 'inpaint export'") from exc
        release_free_heap()  # the parse buffers of the file (module docstring)
        return session


def _model_info(path: Path, meta: dict[str, str]) -> ModelInfo:
    """ModelInfo from the graph's ``metadata_props`` (keys of :mod:`inpaint.export.contract`)."""
    if C.KEY_STRIDE not in meta:
        raise UserError(
            f"{path}: no '{C.KEY_STRIDE}' metadata, so not a model written by 'inpaint export'; export the checkpoint with it"
        )
    if meta.get(C.KEY_MASK, C.MASK_CONVENTION) != C.MASK_CONVENTION:
        raise UserError(f"{path}: mask convention {meta[C.KEY_MASK]!r}, expected {C.MASK_CONVENTION!r}; export it again")
    custom = meta.get(C.KEY_CUSTOM_OPS, "")
    return ModelInfo(
        family=meta.get(C.KEY_FAMILY, ""),
        preset=meta.get(C.KEY_PRESET, ""),
        stride=int(meta[C.KEY_STRIDE]),
        train_size=int(meta.get(C.KEY_TRAIN_SIZE, "0") or 0),
        ops=meta.get(C.KEY_OPS, ""),
        custom_ops=frozenset(op for op in custom.split(",") if op),
        version=meta.get(C.KEY_VERSION, ""),
    )


class OnnxRunner(Runner):
    """Runs a contract graph (inputs ``image``, ``mask``; output ``inpainted``) in ONNX Runtime."""

    name = "onnx"

    def __init__(self, session_loader: SessionFromOnnx):
        super().__init__(session_loader.path)
        self._loader = session_loader
        self._session = None

    def activate_impl(self) -> None:
        session = self._loader()
        names = {i.name for i in session.get_inputs()}
        outputs = [o.name for o in session.get_outputs()]
        if names != {C.INPUT_IMAGE, C.INPUT_MASK} or C.OUTPUT not in outputs:
            raise UserError(
                f"{self.path}: inputs {sorted(names)} / outputs {outputs} are not the inpaint graph contract "
                f"({C.INPUT_IMAGE}, {C.INPUT_MASK} -> {C.OUTPUT}); export the model with 'inpaint export'"
            )
        self.metadata = _model_info(self.path, dict(session.get_modelmeta().custom_metadata_map))
        self.device = session.get_providers()[0]
        self._session = session

    def infer_impl(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        (out,) = self._session.run([C.OUTPUT], {C.INPUT_IMAGE: image, C.INPUT_MASK: mask})
        return owned(out)

    def deactivate_impl(self) -> None:
        self._session = None


def load(path: str | Path, device: str = "auto") -> OnnxRunner:
    """The engine table's entry point: an (inactive) runner for ``path``."""
    return OnnxRunner(SessionFromOnnx(path, device))
