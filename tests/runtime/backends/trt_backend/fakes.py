"""Stand-ins for TensorRT and CUDA, so the runner's logic runs here (no GPU, no TensorRT).

``FakeMemory`` defers every copy and kernel: work queued on a stream runs only when something waits for
it (an event synchronised, or a stream that waits on an event), in the order CUDA would run it. A runner
that reused a host buffer before its upload ran, or read an output before its download ran, gets wrong
numbers here, as it would on a GPU.

``fake_tensorrt(memory)`` is a module with the few TensorRT names the runner uses; its engine computes
``where(mask > 0.5, FILL, image)`` (the contract's composite with a constant fill) from the device buffers
whose addresses were set when ``execute_async_v3`` was called. Its execution contexts model the hazard of
replaying a CUDA graph after the same context ran another shape: a graph captured for one shape writes NaN when,
by the time it is replayed, its context has been given another input shape (TensorRT keeps
shape-dependent state in the context; nothing documented says a graph survives a reshape).
"""

from __future__ import annotations

import json
import types

import numpy as np

from inpaint._cuda import Gpu
from inpaint.runtime.backends.cuda_memory import Buffer, Memory

FILL = np.float32(0.25)
PLAN_MAGIC = b"FAKEPLAN"
GPU = Gpu(0, "Fake GPU", "8.6", 1024)


class FakeStream:
    def __init__(self, handle: int):
        self.handle, self.ops, self.done, self.capturing = handle, [], 0, None

    def queue(self, op) -> None:
        (self.ops if self.capturing is None else self.capturing).append(op)

    def run_until(self, mark: int) -> None:
        while self.done < mark:
            op = self.ops[self.done]
            self.done += 1
            op()


class FakeEvent:
    def __init__(self):
        self.stream, self.mark = None, 0


class FakeMemory(Memory):
    name = "fake"

    def __init__(self, can_capture: bool = True):
        self.arrays: dict[int, np.ndarray] = {}
        self.streams: dict[int, FakeStream] = {}
        self._ptr = 0x10000
        self.can_capture = can_capture
        self.captures = self.launches = self.allocations = 0
        self.closed = False

    def _alloc(self, nbytes: int) -> tuple[int, np.ndarray]:
        ptr, self._ptr = self._ptr, self._ptr + nbytes + 4096
        self.arrays[ptr] = np.full(nbytes, 0xAB, np.uint8)  # garbage, not zeros
        self.allocations += 1
        return ptr, self.arrays[ptr]

    def stream(self):
        s = FakeStream(100 + len(self.streams))
        self.streams[s.handle] = s
        return s

    def handle(self, stream) -> int:
        return stream.handle

    def device(self, nbytes):
        ptr, _ = self._alloc(nbytes)
        return Buffer(ptr, nbytes)

    def pinned(self, nbytes):
        ptr, arr = self._alloc(nbytes)
        return Buffer(ptr, nbytes, array=arr)

    def _copy(self, dst: int, src: int, nbytes: int, stream) -> None:
        def op():
            self.arrays[dst][:nbytes] = self.arrays[src][:nbytes]
        stream.queue(op)

    def upload(self, dst, src, nbytes, stream):
        self._copy(dst.ptr, src.ptr, nbytes, stream)

    def download(self, dst, src, nbytes, stream):
        self._copy(dst.ptr, src.ptr, nbytes, stream)

    def event(self):
        return FakeEvent()

    def record(self, event, stream):
        assert stream.capturing is None
        event.stream, event.mark = stream, len(stream.ops)

    def wait(self, stream, event):
        other, mark = event.stream, event.mark
        stream.queue(lambda: other.run_until(mark) if other is not None else None)

    def sync(self, event):
        if event.stream is not None:
            event.stream.run_until(event.mark)

    def capture(self, stream, enqueue):
        self.captures += 1
        if not self.can_capture:
            raise RuntimeError("capture not supported by this fake")
        stream.capturing = []
        try:
            enqueue()
            return list(stream.capturing)
        finally:
            stream.capturing = None

    def launch(self, graph, stream):
        self.launches += 1
        for op in graph:
            stream.queue(op)

    def close(self):
        self.closed = True


def fake_plan(shapes) -> bytes:
    """A plan the fake runtime deserialises; it remembers the profile's max (N, H, W)."""
    return PLAN_MAGIC + json.dumps(list(shapes.max)).encode()


def stand_in_builder(calls: list | None = None):
    """A ``plan_builder`` for :func:`inpaint.export.trt.build_engine` that records its calls."""
    def build(onnx_path, shapes, flags, workspace_gib, timing_cache):
        if calls is not None:
            calls.append({"onnx": onnx_path, "shapes": shapes, "flags": flags, "workspace": workspace_gib, "timing": timing_cache})
        return fake_plan(shapes)
    return build


def fake_tensorrt(memory: FakeMemory, version: str = "10.13.0.35") -> types.ModuleType:
    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    trt.TensorIOMode = types.SimpleNamespace(INPUT="INPUT", OUTPUT="OUTPUT")
    trt.DataType = types.SimpleNamespace(FLOAT="FLOAT", HALF="HALF")
    trt.executions = []
    trt.deserialised = []

    class Logger:
        WARNING = 2

        def __init__(self, severity):
            self.severity = severity

    trt.contexts = []
    trt.ExecutionContextAllocationStrategy = types.SimpleNamespace(STATIC="STATIC", ON_PROFILE_CHANGE="ON_PROFILE_CHANGE", USER_MANAGED="USER_MANAGED")

    class Context:
        def __init__(self, max_shape, strategy="STATIC"):
            self.max_shape, self.shapes, self.addresses = max_shape, {}, {}
            self.strategy, self.device_memory, self.generation = strategy, None, 0
            trt.contexts.append(self)

        def set_device_memory(self, ptr, size):
            self.device_memory = (ptr, size)

        def set_input_shape(self, name, shape):
            n, _, h, w = shape
            if any(v > m for v, m in zip((n, h, w), self.max_shape)):
                return False
            if self.shapes.get(name, tuple(shape)) != tuple(shape):
                self.generation += 1  # shape-dependent state rewritten: earlier captures of this context are stale
            self.shapes[name] = tuple(shape)
            return True

        def get_tensor_shape(self, name):
            return self.shapes["image"] if name == "inpainted" else self.shapes[name]

        def set_tensor_address(self, name, ptr):
            self.addresses[name] = ptr
            return True

        def execute_async_v3(self, handle):
            stream = memory.streams[handle]
            shape, addr = self.shapes["image"], dict(self.addresses)  # frozen now, as TensorRT does
            mshape, generation = self.shapes["mask"], self.generation
            captured = stream.capturing is not None  # a plain enqueue owns what it needs once it returns
            trt.executions.append(shape)

            def op():
                size, msize = int(np.prod(shape)), int(np.prod(mshape))
                image = memory.arrays[addr["image"]][: size * 4].view(np.float32).reshape(shape)
                mask = memory.arrays[addr["mask"]][: msize * 4].view(np.float32).reshape(mshape)
                out = np.where(mask > 0.5, FILL, image).astype(np.float32)
                if captured and self.generation != generation:  # replayed after its context ran another shape
                    out[:] = np.nan
                memory.arrays[addr["inpainted"]][: size * 4] = out.reshape(-1).view(np.uint8)
            stream.queue(op)
            return True

    class Engine:
        num_io_tensors = 3
        names = ["image", "mask", "inpainted"]
        device_memory_size_v2 = 1 << 16

        def __init__(self, max_shape):
            self.max_shape = max_shape

        def get_tensor_name(self, i):
            return self.names[i]

        def get_tensor_mode(self, name):
            return trt.TensorIOMode.OUTPUT if name == "inpainted" else trt.TensorIOMode.INPUT

        def get_tensor_dtype(self, name):
            return trt.DataType.FLOAT

        def create_execution_context(self, strategy="STATIC"):
            return Context(self.max_shape, strategy)

    class Runtime:
        def __init__(self, logger):
            self.logger = logger

        def deserialize_cuda_engine(self, plan):
            plan = bytes(plan)
            trt.deserialised.append(plan)
            if not plan.startswith(PLAN_MAGIC):
                return None  # what TensorRT does with a foreign or corrupt plan
            return Engine(tuple(json.loads(plan[len(PLAN_MAGIC):])))

    trt.Logger, trt.Runtime = Logger, Runtime
    trt.init_libnvinfer_plugins = lambda logger, namespace: True
    return trt
