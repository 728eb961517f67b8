"""TensorRT backend: runs an engine file (``.engine`` / ``.plan`` from ``inpaint export --engine trt``) or an
``.onnx`` through the engine cache (:mod:`inpaint.export.trt_cache`: built once, then reused).

    runner = TrtRunner(EngineFromFile("madf.engine"), cuda_graph=True)
    with runner:
        out = runner.infer(image, mask)                   # see inpaint.runtime.backends.base
        pending = runner.infer_async(image2, mask2)       # copies overlap the previous batch's compute
        out2 = pending.result()

``.plan`` means the same file format as ``.engine`` (model metadata + plan); a raw plan from trtexec has no
metadata and is refused with the command that builds a proper one.

Per batch: the inputs are copied into a pinned host buffer, uploaded on an upload stream, computed with
``execute_async_v3`` on a compute stream (never the default stream) and downloaded on a download stream,
the streams chained by events. Two buffer slots alternate (double buffering), so batch k + 1's upload
overlaps batch k's compute and batch k's download overlaps batch k + 1's compute when the caller submits
k + 1 before collecting k (:meth:`Runner.infer_async`). With ``cuda_graph=True`` each (slot, shape) is run
once, then captured as a CUDA graph and replayed (shapes and addresses are frozen in a graph); a failed
capture falls back to plain enqueues. A graph is replayed only on the execution context it was captured on,
and each captured shape has its own context, whose input shape never changes afterwards: what TensorRT
writes for a shape when it enqueues (shape-dependent state of the context) is never changed under a
captured graph by an enqueue of another shape. The graph contexts share one user-managed block of
activation memory (``ExecutionContextAllocationStrategy.USER_MANAGED``, ``device_memory_size_v2``), valid
because they all run in order on the one compute stream. Engines whose graph has data-dependent shapes
(FAR's ``NonZero``; the engine header's ``trt.cuda_graph``) cannot be captured: the runner says so once
and runs plain enqueues. The TensorRT calls are all in :class:`TrtEngine`; memory comes from
:mod:`inpaint.runtime.backends.cuda_memory` (torch, else cuda-python, else pycuda).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
from pathlib import Path

import numpy as np

from inpaint._lazy import require
from inpaint.errors import MissingDependencyError, UserError
from inpaint.export import contract as C
from inpaint.export import engine_file as E
from inpaint.runtime.backends.base import Pending, Runner

__all__ = ["load", "unavailable_reason", "TrtEngine", "TrtRunner", "EngineFromFile", "EngineFromOnnx", "MIN_TRT"]

log = logging.getLogger("inpaint.runtime")

#: the oldest TensorRT this runner is written for (TENSORRT.md: execute_async_v3, aot_impl plugins)
MIN_TRT = (10, 9)
#: CUDA graphs kept per buffer slot (one per input shape; the oldest is dropped), and execution contexts kept for
#: captured shapes (one each; the oldest shape's context and graphs are dropped)
MAX_GRAPHS_PER_SLOT = 8
INSTALL = "pip install 'inpaint-toolkit[trt]' (TensorRT's wheels: pip install tensorrt; see the README)"


@functools.lru_cache(maxsize=1)
def unavailable_reason() -> str | None:
    """None when TensorRT can run here (it imports, it is >= 10.9, a CUDA GPU answers); else why not, with the fix.

    Cheap checks first: the package is looked up without importing, then the driver is asked through
    ctypes (:mod:`inpaint._cuda`); only then is ``tensorrt`` imported. Cached for the process.
    """
    try:
        found = importlib.util.find_spec("tensorrt") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return f"TensorRT is not installed; {INSTALL}"
    from inpaint._cuda import driver_info

    info = driver_info()
    if not info.available:
        return f"TensorRT needs an NVIDIA GPU: {info.reason}"
    try:
        import tensorrt
    except Exception as exc:  # noqa: BLE001  a broken install (missing libnvinfer) raises more than ImportError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"the tensorrt package does not import ({first}); reinstall it: {INSTALL}"
    version = str(getattr(tensorrt, "__version__", "0"))
    from inpaint.export.trt import version_tuple

    if version_tuple(version) < MIN_TRT:
        return f"TensorRT {version} is older than {MIN_TRT[0]}.{MIN_TRT[1]}; upgrade it: {INSTALL}"
    return None


# --- loaders: (header, plan) -----------------------------------------------------------------------------
class EngineFromFile:
    """An engine file written by ``inpaint export --engine trt`` (checked: whole, this TensorRT, this GPU)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __call__(self, trt_version: str, compute_capability: str, driver: str = "", gpu_memory_mb: int | None = None) -> tuple[dict[str, str], bytes]:
        if not self.path.is_file():
            raise UserError(f"{self.path}: no such engine file; build one with 'inpaint export MODEL.onnx --engine trt -o {self.path.name}'")
        header, plan = E.read_engine_file(self.path)
        E.check_compatible(self.path, header, trt_version, compute_capability, driver)
        return header, plan

    def refused(self) -> tuple[dict[str, str], bytes] | None:
        """TensorRT did not deserialise the plan: nothing to rebuild from (the caller raises)."""
        return None


class EngineFromOnnx:
    """An ``.onnx`` through the engine cache: built on first use, rebuilt when TensorRT refuses the cached plan."""

    def __init__(self, path: str | Path, cache_root: str | Path | None = None):
        self.path, self.cache_root = Path(path), cache_root
        self._versions: tuple = ("", "", "", None)
        self.engine_path: Path | None = None

    def __call__(self, trt_version: str, compute_capability: str, driver: str = "", gpu_memory_mb: int | None = None) -> tuple[dict[str, str], bytes]:
        from inpaint.export.trt_cache import cached_engine

        if not self.path.is_file():
            raise UserError(f"{self.path}: no such ONNX model; pass a .onnx written by 'inpaint export'")
        self._versions = (trt_version, compute_capability, driver, gpu_memory_mb)
        self.engine_path = cached_engine(self.path, root=self.cache_root, trt_version=trt_version, compute_capability=compute_capability,
                                         driver=driver, gpu_memory_mb=gpu_memory_mb)
        header, plan = E.read_engine_file(self.engine_path)
        E.check_compatible(self.engine_path, header, trt_version, compute_capability, driver)  # a cache from a newer driver
        return header, plan

    def refused(self) -> tuple[dict[str, str], bytes] | None:
        from inpaint.export.trt_cache import invalidate

        log.warning("TensorRT refused the cached engine %s; rebuilding it", self.engine_path)
        invalidate(self.engine_path)
        return self(*self._versions)


# --- the TensorRT calls ------------------------------------------------------------------------------------
class EngineRefused(Exception):
    """``deserialize_cuda_engine`` returned None (a foreign, stale or corrupt plan)."""


class TrtEngine:
    """A deserialised engine and one execution context: the only place that calls TensorRT's runtime API."""

    def __init__(self, trt, plan: bytes):
        self.trt = trt
        self.logger = trt.Logger(trt.Logger.WARNING)
        if hasattr(trt, "init_libnvinfer_plugins"):
            trt.init_libnvinfer_plugins(self.logger, "")
        self.runtime = trt.Runtime(self.logger)
        self.engine = self.runtime.deserialize_cuda_engine(plan)  # None, not an exception, on a bad plan
        if self.engine is None:
            raise EngineRefused()
        self.context = self.engine.create_execution_context()
        if self.context is None:
            raise RuntimeError("TensorRT could not create an execution context (out of GPU memory?)")
        self.inputs, self.outputs = [], []
        for i in range(self.engine.num_io_tensors):
            name = self.engine.get_tensor_name(i)
            (self.inputs if self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT else self.outputs).append(name)

    def new_context(self, device_memory=None):
        """Another execution context. With ``device_memory`` (a Buffer of at least :meth:`activation_bytes`) it
        uses that memory (USER_MANAGED, TensorRT >= 10.1), so several contexts share one block; else its own."""
        strategy = getattr(getattr(self.trt, "ExecutionContextAllocationStrategy", None), "USER_MANAGED", None)
        if device_memory is None or strategy is None or not hasattr(self.engine, "device_memory_size_v2"):
            context = self.engine.create_execution_context()
        else:
            context = self.engine.create_execution_context(strategy)
            if context is not None:
                context.set_device_memory(int(device_memory.ptr), int(device_memory.nbytes))
        if context is None:
            raise RuntimeError("TensorRT could not create an execution context (out of GPU memory?)")
        return context

    def activation_bytes(self) -> int | None:
        """Activation memory a context needs for the profile's max (``device_memory_size_v2``), None if unknown."""
        size = getattr(self.engine, "device_memory_size_v2", None)
        return int(size) if size is not None else None

    def dtype(self, name: str) -> np.dtype:
        """NumPy dtype of an I/O tensor (float32 or float16; bf16 I/O is not part of the graph contract)."""
        dt = self.engine.get_tensor_dtype(name)
        table = {self.trt.DataType.FLOAT: np.float32, self.trt.DataType.HALF: np.float16}
        if dt not in table:
            raise UserError(f"engine tensor '{name}' is {dt}; the graph contract has float32 (or float16) inputs and output")
        return np.dtype(table[dt])

    def set_input_shape(self, name: str, shape: tuple[int, ...], context=None) -> bool:
        return bool((context or self.context).set_input_shape(name, tuple(int(v) for v in shape)))

    def output_shape(self, name: str, context=None) -> tuple[int, ...]:
        return tuple(int(v) for v in (context or self.context).get_tensor_shape(name))

    def set_address(self, name: str, ptr: int, context=None) -> None:
        if not (context or self.context).set_tensor_address(name, int(ptr)):
            raise RuntimeError(f"TensorRT refused the address of tensor '{name}'")

    def execute(self, stream_handle: int, context=None) -> None:
        if not (context or self.context).execute_async_v3(stream_handle):
            raise RuntimeError("TensorRT execute_async_v3 failed (see TensorRT's log above)")

    def close(self) -> None:
        self.context = self.engine = self.runtime = None  # context before engine before runtime


# --- the runner --------------------------------------------------------------------------------------------
class _Slot:
    """One set of buffers (pinned host + device for image, mask and output) and the events that order them."""

    def __init__(self, memory):
        self.memory = memory
        self.capacity: dict[str, int] = {}
        self.host: dict = {}
        self.dev: dict = {}
        self.uploaded, self.computed, self.downloaded = memory.event(), memory.event(), memory.event()
        self.pending: Pending | None = None
        self.graphs: dict[tuple, object] = {}

    def ensure(self, name: str, nbytes: int) -> None:
        """Buffers of at least ``nbytes`` for tensor ``name`` (grown, never shrunk; the slot is idle here)."""
        if self.capacity.get(name, 0) < nbytes:
            self.host[name], self.dev[name] = self.memory.pinned(nbytes), self.memory.device(nbytes)
            self.capacity[name] = nbytes
            self.graphs.clear()  # their frozen addresses are gone


class TrtRunner(Runner):
    """Runs an engine (from a loader) on CUDA; see the module docstring for the streams and slots."""

    name = "trt"

    def __init__(self, loader, cuda_graph: bool = False, memory=None, trt_module=None, gpu=None, driver: str | None = None):
        super().__init__(loader.path)
        self._loader, self.cuda_graph = loader, cuda_graph
        self._memory_given, self._trt_given, self._gpu_given, self._driver_given = memory, trt_module, gpu, driver
        #: why CUDA graphs are off for this engine ("" when they are on or were not asked for)
        self.cuda_graph_off = ""
        self._engine: TrtEngine | None = None
        self.header: dict[str, str] = {}

    # -- activation --
    def activate_impl(self) -> None:
        from inpaint.export.trt import Shapes
        from inpaint.runtime.backends.onnx import _model_info

        trt = self._trt_given or require("tensorrt")
        gpu, driver = self._gpu_given, self._driver_given
        if gpu is None:
            from inpaint._cuda import driver_info

            info = driver_info()
            if not info.available:
                raise UserError(f"--engine trt: {info.reason}")
            gpu, driver = info.gpus[0], info.driver if driver is None else driver
        version = str(trt.__version__)
        header, plan = self._loader(version, gpu.compute_capability, driver=driver or "", gpu_memory_mb=gpu.memory_mb)
        if header.get(E.KEY_PLUGIN_VERSION):
            self._register_plugins(header)
        try:
            engine = TrtEngine(trt, plan)
        except EngineRefused:
            again = self._loader.refused()
            try:
                if again is None:
                    raise EngineRefused()
                header, plan = again
                engine = TrtEngine(trt, plan)
            except EngineRefused:
                raise E.EngineFileError(
                    f"{self.path}: TensorRT {version} refused to deserialise this engine (foreign or corrupt plan); "
                    "rebuild it here with 'inpaint export MODEL.onnx --engine trt'"
                ) from None
        missing = {C.INPUT_IMAGE, C.INPUT_MASK} - set(engine.inputs)
        if missing or C.OUTPUT not in engine.outputs:
            engine.close()
            raise UserError(
                f"{self.path}: engine tensors {engine.inputs} -> {engine.outputs} are not the inpaint graph contract "
                f"({C.INPUT_IMAGE}, {C.INPUT_MASK} -> {C.OUTPUT}); build it from an 'inpaint export' graph"
            )
        self.header, self._engine = header, engine
        profiles = json.loads(header.get(E.KEY_PROFILES, "[]"))
        self.shapes = Shapes.from_profile(profiles[0]) if profiles else None
        self.metadata = _model_info(self.path, header)
        memory = self._memory_given
        if memory is None:
            from inpaint.runtime.backends.cuda_memory import pick_memory

            try:
                memory = pick_memory(gpu.index)
            except Exception:
                engine.close()
                raise
        self._memory = memory
        self._streams = {k: memory.stream() for k in ("upload", "compute", "download")}
        self._slots = [_Slot(memory), _Slot(memory)]
        self._next = 0
        self._graphs_ok = self.cuda_graph
        self._graph_contexts: dict[tuple, object] = {}  # captured shape -> its own execution context
        self._graph_memory = None  # the activation block the graph contexts share
        blocker = header.get(E.KEY_CUDA_GRAPH, "")
        if self.cuda_graph and blocker:
            self.cuda_graph_off = blocker
            self._graphs_ok = False
            log.warning("--cuda-graph is off for %s: %s; running plain enqueues", self.path.name, blocker)
        self.device = f"cuda:{gpu.index} ({header.get(E.KEY_PRECISION, 'fp32')}, TensorRT {version}, {memory.name} buffers)"

    def _register_plugins(self, header: dict[str, str]) -> None:
        """JIT plugin engines need the plugin code imported before deserialising (AOT ones do not)."""
        from inpaint.ops import trt_plugins

        try:
            trt_plugins.register_all()
        except ImportError as exc:
            log.warning("the TensorRT plugin modules do not import (%s); an engine with JIT plugins will not load", exc)
            return
        if header[E.KEY_PLUGIN_VERSION] != trt_plugins.plugin_version():
            log.warning("%s was built with plugin version %s, this inpaint has %s; rebuild it if it fails or differs",
                        self.path, header[E.KEY_PLUGIN_VERSION], trt_plugins.plugin_version())

    def deactivate_impl(self) -> None:
        for slot in self._slots:
            if slot.pending is not None:
                slot.pending.result()
        self._slots = []
        self._graph_contexts.clear()  # contexts before their engine and before the memory they share
        if self._engine is not None:
            self._engine.close()
        self._memory.close()
        self._engine = None

    # -- inference --
    def infer_impl(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self._submit(image, mask).result()

    def infer_async(self, image: np.ndarray, mask: np.ndarray) -> Pending:
        """Queue a batch on the GPU and return at once (see the module docstring); ``.result()`` waits for it."""
        if not self.is_active:
            raise RuntimeError(f"{type(self).__name__} is not active; use 'with runner:' or runner.activate()")
        self._check_inputs(image, mask)
        return self._submit(np.ascontiguousarray(image), np.ascontiguousarray(mask))

    def _profile_error(self, n: int, h: int, w: int) -> UserError:
        where = ""
        if self.shapes is not None:
            lo, hi = self.shapes.min, self.shapes.max
            where = f" {'x'.join(map(str, lo))} .. {'x'.join(map(str, hi))}"
        return UserError(
            f"{self.path}: a batch of {n}x{h}x{w} (NxHxW, after padding) is outside the engine's profile{where}; "
            "rebuild it with 'inpaint export MODEL.onnx --engine trt --shapes MIN,OPT,MAX' covering it, or use a smaller --batch"
        )

    def _submit(self, image: np.ndarray, mask: np.ndarray) -> Pending:
        n, _, h, w = image.shape
        if self.shapes is not None and not self.shapes.contains(n, h, w):
            raise self._profile_error(n, h, w)
        eng, mem, st = self._engine, self._memory, self._streams
        slot = self._slots[self._next]
        self._next = 1 - self._next
        if slot.pending is not None:  # its host buffers are reused now: finish and copy out the old result
            slot.pending.result()
        arrays = {C.INPUT_IMAGE: image, C.INPUT_MASK: mask}
        context = self._graph_context((n, h, w)) if self._graphs_ok else None
        for name, array in arrays.items():
            if not eng.set_input_shape(name, array.shape, context):
                raise self._profile_error(n, h, w)
        out_shape = eng.output_shape(C.OUTPUT, context)
        if tuple(out_shape) != image.shape:
            raise RuntimeError(f"engine output shape {out_shape}, expected {image.shape}")
        out_dtype = eng.dtype(C.OUTPUT)
        for name, array in arrays.items():
            dt = eng.dtype(name)
            slot.ensure(name, array.size * dt.itemsize)
            host = slot.host[name].array[: array.size * dt.itemsize].view(dt)
            np.copyto(host, array.reshape(-1), casting="same_kind")
        out_bytes = int(np.prod(out_shape)) * out_dtype.itemsize
        slot.ensure(C.OUTPUT, out_bytes)
        for name, array in arrays.items():
            nbytes = array.size * eng.dtype(name).itemsize
            mem.upload(slot.dev[name], slot.host[name], nbytes, st["upload"])
        mem.record(slot.uploaded, st["upload"])
        mem.wait(st["compute"], slot.uploaded)
        self._compute(slot, (n, h, w), context)
        mem.record(slot.computed, st["compute"])
        mem.wait(st["download"], slot.computed)
        mem.download(slot.host[C.OUTPUT], slot.dev[C.OUTPUT], out_bytes, st["download"])
        mem.record(slot.downloaded, st["download"])

        def collect() -> np.ndarray:
            mem.sync(slot.downloaded)
            slot.pending = None
            out = slot.host[C.OUTPUT].array[:out_bytes].view(out_dtype).reshape(out_shape)
            return out.astype(np.float32, copy=True)

        slot.pending = Pending(wait=collect)
        return slot.pending

    def _graph_context(self, shape: tuple[int, int, int]):
        """The execution context of a captured (or about to be captured) shape: made once, never given another shape."""
        context = self._graph_contexts.get(shape)
        if context is not None:
            return context
        eng = self._engine
        if self._graph_memory is None and eng.activation_bytes():
            self._graph_memory = self._memory.device(eng.activation_bytes())
        context = eng.new_context(self._graph_memory)
        self._graph_contexts[shape] = context
        if len(self._graph_contexts) > MAX_GRAPHS_PER_SLOT:  # drop the oldest shape: its context and every slot's graph of it
            oldest = next(iter(self._graph_contexts))
            del self._graph_contexts[oldest]
            for other in self._slots:
                other.graphs.pop(oldest, None)
        return context

    def _compute(self, slot: _Slot, shape: tuple[int, int, int], context=None) -> None:
        """Enqueue the engine on the compute stream: a CUDA-graph replay when one is captured for this shape
        (on ``context``, the shape's own), else a plain enqueue with this slot's addresses."""
        eng, mem, stream = self._engine, self._memory, self._streams["compute"]
        graph = slot.graphs.get(shape) if self._graphs_ok else None
        if graph is not None:
            mem.launch(graph, stream)  # addresses and shapes are frozen in it; its context was never reshaped
            return
        for name in (C.INPUT_IMAGE, C.INPUT_MASK, C.OUTPUT):
            eng.set_address(name, slot.dev[name].ptr, context)
        eng.execute(mem.handle(stream), context)  # trtexec's way: one plain run with these shapes and addresses, then capture
        if not self._graphs_ok:
            return
        mem.record(slot.computed, stream)
        mem.sync(slot.computed)
        try:
            slot.graphs[shape] = mem.capture(stream, lambda: eng.execute(mem.handle(stream), context))
        except Exception as exc:  # noqa: BLE001  a capture TensorRT or the provider refuses: plain enqueues from now on
            log.warning("CUDA graph capture failed (%s); running without CUDA graphs", exc)
            self.cuda_graph_off = f"capture failed: {exc}"
            self._graphs_ok = False
            return
        if len(slot.graphs) > MAX_GRAPHS_PER_SLOT:
            slot.graphs.pop(next(iter(slot.graphs)))


def load(path: str | Path, device: str = "auto", cuda_graph: bool = False) -> TrtRunner:
    """The engine table's entry point: an (inactive) runner for an engine file or an ``.onnx`` (cached build).

    Raises at once (nothing loaded, nothing written) when TensorRT or a GPU is missing, or for ``--device cpu``.
    """
    path = Path(path)
    if device == "cpu":
        raise UserError("--engine trt runs on an NVIDIA GPU, not --device cpu; use --engine onnx for the CPU")
    reason = unavailable_reason()
    if reason is not None:
        raise MissingDependencyError(f"--engine trt: {reason}; or use --engine onnx (ONNX Runtime)")
    if path.suffix.lower() == ".onnx":
        return TrtRunner(EngineFromOnnx(path), cuda_graph=cuda_graph)
    return TrtRunner(EngineFromFile(path), cuda_graph=cuda_graph)
