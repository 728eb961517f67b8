"""Device memory, pinned host memory, streams, events and CUDA graphs for the TensorRT runner: one small interface.

Three providers, tried in this order by :func:`pick_memory` (the design's order):

    TorchMemory       torch CUDA tensors (torch installed with CUDA)
    CudaPythonMemory  ``from cuda.bindings import runtime as cudart`` (pip install cuda-python)
    PyCudaMemory      pycuda.driver on the primary context (no CUDA-graph capture: the runner falls back)

Every pointer is a plain ``int`` (what ``IExecutionContext.set_tensor_address`` takes) and every stream
has an ``int`` handle (what ``execute_async_v3`` takes). Host buffers are pinned, so copies run
asynchronously on their stream. Nothing here imports torch, cuda-python or pycuda until a provider is built.
"""

from __future__ import annotations

import ctypes
import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np

from inpaint.errors import MissingDependencyError

__all__ = ["Memory", "Buffer", "TorchMemory", "CudaPythonMemory", "PyCudaMemory", "pick_memory", "PROVIDERS"]


class Buffer:
    """Memory of ``nbytes`` at ``ptr`` (int). Host buffers also have ``array``: a 1-D uint8 NumPy view."""

    def __init__(self, ptr: int, nbytes: int, array: np.ndarray | None = None, owner: Any = None):
        self.ptr, self.nbytes, self.array, self.owner = int(ptr), int(nbytes), array, owner


class Memory(ABC):
    """What the runner needs from CUDA. Streams and events are opaque objects of the provider."""

    name: str = ""

    @abstractmethod
    def stream(self) -> Any:
        """A new non-default (non-blocking) stream."""

    @abstractmethod
    def handle(self, stream: Any) -> int:
        """The ``cudaStream_t`` of ``stream`` as an int."""

    @abstractmethod
    def device(self, nbytes: int) -> Buffer:
        """Device memory."""

    @abstractmethod
    def pinned(self, nbytes: int) -> Buffer:
        """Page-locked host memory with ``.array``."""

    @abstractmethod
    def upload(self, dst: Buffer, src: Buffer, nbytes: int, stream: Any) -> None:
        """Asynchronous host -> device copy of the first ``nbytes``."""

    @abstractmethod
    def download(self, dst: Buffer, src: Buffer, nbytes: int, stream: Any) -> None:
        """Asynchronous device -> host copy of the first ``nbytes``."""

    @abstractmethod
    def event(self) -> Any:
        """A new event (no timing)."""

    @abstractmethod
    def record(self, event: Any, stream: Any) -> None:
        """Mark ``event`` done when the work queued on ``stream`` so far is done."""

    @abstractmethod
    def wait(self, stream: Any, event: Any) -> None:
        """Make later work on ``stream`` wait for ``event`` (the host does not wait)."""

    @abstractmethod
    def sync(self, event: Any) -> None:
        """Block the host until ``event`` is done."""

    def capture(self, stream: Any, enqueue: Callable[[], None]) -> Any:
        """A replayable CUDA graph of what ``enqueue()`` queues on ``stream``; raises when it cannot be captured."""
        raise RuntimeError(f"{self.name} cannot capture CUDA graphs")

    def launch(self, graph: Any, stream: Any) -> None:
        """Replay a graph from :meth:`capture` on ``stream``."""
        raise RuntimeError(f"{self.name} cannot launch CUDA graphs")

    def close(self) -> None:
        """Free what this provider holds (buffers are freed with their owner)."""


# --- torch ---------------------------------------------------------------------------------------------
class TorchMemory(Memory):
    """torch CUDA tensors: uint8 device tensors, ``pin_memory=True`` host tensors, ``torch.cuda.Stream``."""

    name = "torch"

    def __init__(self, device_index: int = 0):
        import torch

        self.torch = torch
        self.dev = torch.device("cuda", device_index)

    def stream(self):
        return self.torch.cuda.Stream(self.dev)

    def handle(self, stream) -> int:
        return int(stream.cuda_stream)

    def device(self, nbytes: int) -> Buffer:
        t = self.torch.empty(nbytes, dtype=self.torch.uint8, device=self.dev)
        return Buffer(t.data_ptr(), nbytes, owner=t)

    def pinned(self, nbytes: int) -> Buffer:
        t = self.torch.empty(nbytes, dtype=self.torch.uint8, pin_memory=True)
        return Buffer(t.data_ptr(), nbytes, array=t.numpy(), owner=t)

    def upload(self, dst, src, nbytes, stream) -> None:
        with self.torch.cuda.stream(stream):
            dst.owner[:nbytes].copy_(src.owner[:nbytes], non_blocking=True)

    def download(self, dst, src, nbytes, stream) -> None:
        with self.torch.cuda.stream(stream):
            dst.owner[:nbytes].copy_(src.owner[:nbytes], non_blocking=True)

    def event(self):
        return self.torch.cuda.Event()

    def record(self, event, stream) -> None:
        event.record(stream)

    def wait(self, stream, event) -> None:
        stream.wait_event(event)

    def sync(self, event) -> None:
        event.synchronize()

    def capture(self, stream, enqueue):
        graph = self.torch.cuda.CUDAGraph()
        # thread_local: TensorRT's own calls on other threads must not invalidate the capture (trtexec's mode)
        with self.torch.cuda.graph(graph, stream=stream, capture_error_mode="thread_local"):
            enqueue()
        return graph

    def launch(self, graph, stream) -> None:
        with self.torch.cuda.stream(stream):
            graph.replay()


# --- cuda-python ---------------------------------------------------------------------------------------
class CudaPythonMemory(Memory):
    """``cuda.bindings.runtime``: every call returns ``(err, *results)`` (TENSORRT.md, "Running without torch")."""

    name = "cuda-python"

    def __init__(self, device_index: int = 0):
        from cuda.bindings import runtime as cudart

        self.rt = cudart
        self._check(cudart.cudaSetDevice(device_index))
        self._owned: list[tuple[Callable, Any]] = []

    def _check(self, result):
        err, *rest = result if isinstance(result, tuple) else (result,)
        if err != self.rt.cudaError_t.cudaSuccess:
            _, text = self.rt.cudaGetErrorString(err)
            raise RuntimeError(f"CUDA error {int(err)}: {text.decode() if isinstance(text, bytes) else text}")
        return rest[0] if len(rest) == 1 else rest

    def stream(self):
        s = self._check(self.rt.cudaStreamCreateWithFlags(self.rt.cudaStreamNonBlocking))
        self._owned.append((self.rt.cudaStreamDestroy, s))
        return s

    def handle(self, stream) -> int:
        return int(stream)

    def device(self, nbytes: int) -> Buffer:
        ptr = int(self._check(self.rt.cudaMalloc(nbytes)))
        self._owned.append((self.rt.cudaFree, ptr))
        return Buffer(ptr, nbytes)

    def pinned(self, nbytes: int) -> Buffer:
        ptr = int(self._check(self.rt.cudaMallocHost(nbytes)))
        self._owned.append((self.rt.cudaFreeHost, ptr))
        array = np.ctypeslib.as_array((ctypes.c_uint8 * nbytes).from_address(ptr))
        return Buffer(ptr, nbytes, array=array)

    def upload(self, dst, src, nbytes, stream) -> None:
        self._check(self.rt.cudaMemcpyAsync(dst.ptr, src.ptr, nbytes, self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice, stream))

    def download(self, dst, src, nbytes, stream) -> None:
        self._check(self.rt.cudaMemcpyAsync(dst.ptr, src.ptr, nbytes, self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, stream))

    def event(self):
        e = self._check(self.rt.cudaEventCreateWithFlags(self.rt.cudaEventDisableTiming))
        self._owned.append((self.rt.cudaEventDestroy, e))
        return e

    def record(self, event, stream) -> None:
        self._check(self.rt.cudaEventRecord(event, stream))

    def wait(self, stream, event) -> None:
        self._check(self.rt.cudaStreamWaitEvent(stream, event, 0))

    def sync(self, event) -> None:
        self._check(self.rt.cudaEventSynchronize(event))

    def capture(self, stream, enqueue):
        mode = self.rt.cudaStreamCaptureMode.cudaStreamCaptureModeThreadLocal
        self._check(self.rt.cudaStreamBeginCapture(stream, mode))
        try:
            enqueue()
        finally:
            graph = self._check(self.rt.cudaStreamEndCapture(stream))  # ends the capture even when enqueue failed
        self._owned.append((self.rt.cudaGraphDestroy, graph))
        executable = self._check(self.rt.cudaGraphInstantiate(graph, 0))
        self._owned.append((self.rt.cudaGraphExecDestroy, executable))
        return executable

    def launch(self, graph, stream) -> None:
        self._check(self.rt.cudaGraphLaunch(graph, stream))

    def close(self) -> None:
        self.rt.cudaDeviceSynchronize()
        while self._owned:
            free, handle = self._owned.pop()
            free(handle)


# --- pycuda --------------------------------------------------------------------------------------------
class PyCudaMemory(Memory):
    """pycuda on the device's primary context (the one TensorRT's runtime API uses). No graph capture."""

    name = "pycuda"

    def __init__(self, device_index: int = 0):
        import pycuda.driver as cuda

        cuda.init()
        self.cuda = cuda
        self.context = cuda.Device(device_index).retain_primary_context()
        self.context.push()

    def stream(self):
        return self.cuda.Stream()

    def handle(self, stream) -> int:
        return int(stream.handle)

    def device(self, nbytes: int) -> Buffer:
        alloc = self.cuda.mem_alloc(nbytes)
        return Buffer(int(alloc), nbytes, owner=alloc)

    def pinned(self, nbytes: int) -> Buffer:
        array = self.cuda.pagelocked_empty(nbytes, np.uint8)
        return Buffer(array.ctypes.data, nbytes, array=array, owner=array)

    def upload(self, dst, src, nbytes, stream) -> None:
        self.cuda.memcpy_htod_async(dst.ptr, src.array[:nbytes], stream)

    def download(self, dst, src, nbytes, stream) -> None:
        self.cuda.memcpy_dtoh_async(dst.array[:nbytes], src.ptr, stream)

    def event(self):
        return self.cuda.Event()

    def record(self, event, stream) -> None:
        event.record(stream)

    def wait(self, stream, event) -> None:
        stream.wait_for_event(event)

    def sync(self, event) -> None:
        event.synchronize()

    def close(self) -> None:
        self.context.synchronize()
        self.context.pop()


#: (provider, the module it needs, how to get it), in the order :func:`pick_memory` tries them
PROVIDERS = (
    (TorchMemory, "torch", "pip install torch (a CUDA build)"),
    (CudaPythonMemory, "cuda.bindings", "pip install cuda-python"),
    (PyCudaMemory, "pycuda", "pip install pycuda"),
)


def _found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def available_providers() -> list[str]:
    """Names of the providers whose package is installed (nothing imported)."""
    return [cls.name for cls, module, _ in PROVIDERS if _found(module)]


def pick_memory(device_index: int = 0) -> Memory:
    """The first provider that works here: torch with CUDA, else cuda-python, else pycuda."""
    errors = []
    for cls, module, _ in PROVIDERS:
        if not _found(module):
            continue
        if cls is TorchMemory:
            import torch

            if not torch.cuda.is_available():
                errors.append("torch has no CUDA (a CPU build?)")
                continue
        try:
            return cls(device_index)
        except Exception as exc:  # noqa: BLE001  a broken install: try the next provider
            errors.append(f"{cls.name}: {exc}")
    why = f" ({'; '.join(errors)})" if errors else ""
    raise MissingDependencyError(
        f"--engine trt needs CUDA memory from torch (CUDA build), cuda-python or pycuda, and none works here{why}; "
        "install one: pip install cuda-python (or pip install 'inpaint-toolkit[trt]')"
    )
