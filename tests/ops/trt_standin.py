"""A minimal stand-in for TensorRT's C++ core, so that NVIDIA's pure-Python ``tensorrt.plugin`` runs here.

``tensorrt.plugin`` (in the ``tensorrt-cu12-bindings`` wheel, ``tensorrt_bindings/plugin/``) is Python over
the compiled ``tensorrt`` module. :func:`install` puts a fake ``tensorrt`` module in ``sys.modules`` whose
package path is the unpacked wheel's ``tensorrt_bindings`` folder, so ``import tensorrt.plugin`` loads
NVIDIA's real files; the fake holds only what those files touch: enums (DataType, TensorFormat,
PluginFieldType, DimensionOperation, QuickPluginCreationRequest, ...), empty base classes for the plugin
interfaces (IPluginV3*, IPluginCreatorV3Quick, ISymExpr), PluginField(Collection), the plugin registry, a
Logger, and a symbolic dimension-expression builder (:class:`ExprBuilder`) whose expressions evaluate for given
sizes. The wheel's compiled ``tensorrt.so`` is never loaded.

What runs for real: the decorators' validation (``_validate.py``), plugin-creator registration, plugin
creation from fields the way the ONNX parser passes them, the fake-shape dtype pass and the shape pass of
``register`` on NVIDIA's ``TensorDesc``/``ShapeExpr``, the autotune combinations, and ``aot_impl`` through
``_TemplateAOTPlugin.get_launch_params``/``get_kernel``. What it cannot show: TensorRT's C++ side (the ONNX
parser, the builder's timing, the PTX load and launch), which needs a GPU with TensorRT.
"""

from __future__ import annotations

import enum
import math
import sys
import types
from pathlib import Path

import numpy as np


class DataType(enum.Enum):
    FLOAT = 0
    HALF = 1
    INT8 = 2
    INT32 = 3
    BOOL = 4
    UINT8 = 5
    FP8 = 6
    BF16 = 7
    INT64 = 8
    INT4 = 9
    FP4 = 10
    E8M0 = 11


class TensorFormat(enum.Enum):
    LINEAR = 0
    CHW2 = 1
    HWC8 = 2
    CHW4 = 3
    CHW16 = 4
    CHW32 = 5
    DHWC8 = 6
    CDHW32 = 7
    HWC = 8
    DLA_LINEAR = 9
    DLA_HWC4 = 10
    HWC16 = 11
    DHWC = 12


PluginFieldType = enum.Enum("PluginFieldType", "FLOAT16 FLOAT32 FLOAT64 INT8 INT16 INT32 CHAR DIMS UNKNOWN BF16 INT64 FP8 INT4 FP4")
DimensionOperation = enum.Enum("DimensionOperation", "SUM PROD MAX MIN SUB EQUAL LESS FLOOR_DIV CEIL_DIV")
PluginArgType = enum.Enum("PluginArgType", "INT")
PluginArgDataType = enum.Enum("PluginArgDataType", "INT8 INT16 INT32")
QuickPluginCreationRequest = enum.Enum("QuickPluginCreationRequest", "UNKNOWN PREFER_JIT PREFER_AOT STRICT_JIT STRICT_AOT")
TensorRTPhase = enum.Enum("TensorRTPhase", "BUILD RUNTIME")

_NPTYPE = {DataType.FLOAT: np.float32, DataType.HALF: np.float16, DataType.INT8: np.int8, DataType.INT32: np.int32, DataType.BOOL: np.bool_, DataType.INT64: np.int64}

_OPS = {
    "SUM": lambda a, b: a + b,
    "PROD": lambda a, b: a * b,
    "MAX": max,
    "MIN": min,
    "SUB": lambda a, b: a - b,
    "EQUAL": lambda a, b: int(a == b),
    "LESS": lambda a, b: int(a < b),
    "FLOOR_DIV": lambda a, b: a // b,
    "CEIL_DIV": lambda a, b: -(-a // b),
}


class IDimensionExpr:
    """A symbolic size: a constant, a named symbol, or an operation on two expressions."""

    def __init__(self, evaluate, constant=None, text="?"):
        self._evaluate, self._constant, self.text = evaluate, constant, text

    def is_constant(self) -> bool:
        return self._constant is not None

    def get_constant_value(self) -> int:
        return self._constant

    def evaluate(self, sizes: dict) -> int:
        """The expression's value when the symbols take ``sizes`` ({name: int})."""
        return self._evaluate(sizes)

    def __repr__(self):
        return f"IDimensionExpr({self.text})"


class ExprBuilder:
    """``trt.IExprBuilder``: constants and operations (folded when both sides are constant), plus symbols."""

    def constant(self, value: int) -> IDimensionExpr:
        value = int(value)
        return IDimensionExpr(lambda sizes: value, value, str(value))

    def symbol(self, name: str) -> IDimensionExpr:
        return IDimensionExpr(lambda sizes: int(sizes[name]), None, name)

    def operation(self, op, a: IDimensionExpr, b: IDimensionExpr) -> IDimensionExpr:
        fn = _OPS[op.name]
        if a.is_constant() and b.is_constant():
            return self.constant(fn(a.get_constant_value(), b.get_constant_value()))
        return IDimensionExpr(lambda sizes: fn(a.evaluate(sizes), b.evaluate(sizes)), None, f"{op.name}({a.text}, {b.text})")

    def dims(self, *items) -> list:
        """Dimension expressions for one tensor: ints become constants, strings symbols."""
        return [self.symbol(i) if isinstance(i, str) else self.constant(i) for i in items]


class _Base:
    def __init__(self, *args, **kwargs):
        pass


class Logger:
    INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = range(5)

    def __init__(self, *args):
        self.messages = []

    def log(self, severity, message):
        self.messages.append((severity, message))


class Dims(list):
    MAX_DIMS = 8


class DimsExprs(list):
    def __init__(self, n: int = 0):
        super().__init__([None] * n)


class PluginField:
    def __init__(self, name: str = "", data=None, type=None):
        self.name, self.data, self.type = name, data, type


class PluginFieldCollection(list):
    pass


class PluginTensorDesc:
    def __init__(self, dims=(), type=DataType.FLOAT, format=TensorFormat.LINEAR, scale=1.0):
        self.dims, self.type, self.format, self.scale = Dims(dims), type, format, scale


class DynamicPluginTensorDesc:
    def __init__(self, desc: PluginTensorDesc):
        self.desc, self.min, self.opt, self.max = desc, desc.dims, desc.dims, desc.dims


class PluginRegistry:
    def __init__(self):
        self.creators = {}

    def register_creator(self, creator, namespace: str) -> bool:
        self.creators[(creator.name, creator.plugin_version, namespace)] = creator
        return True

    def get_creator(self, name: str, version: str, namespace: str = ""):
        return self.creators.get((name, version, namespace))


class LaunchParams:
    """What TensorRT hands ``get_launch_params`` to fill: grid, block, shared memory."""

    grid_x = grid_y = grid_z = block_x = block_y = block_z = shared_mem = None


class SymExprSetter:
    """What TensorRT hands ``get_launch_params`` for the extra kernel arguments."""

    def __init__(self):
        self.nbSymExprs = 0
        self.items = {}

    def __setitem__(self, index, value):
        self.items[index] = value


def build_module(bindings_dir: Path) -> types.ModuleType:
    """The fake ``tensorrt`` package, its ``__path__`` the wheel's ``tensorrt_bindings`` folder."""
    trt = types.ModuleType("tensorrt")
    trt.__path__ = [str(bindings_dir)]
    trt.__version__ = "stand-in"
    for cls in (DataType, TensorFormat, PluginFieldType, DimensionOperation, PluginArgType, PluginArgDataType, QuickPluginCreationRequest, TensorRTPhase):
        setattr(trt, cls.__name__, cls)
    trt.float32, trt.float16, trt.int8, trt.int32, trt.int64, trt.bfloat16, trt.bool = (
        DataType.FLOAT, DataType.HALF, DataType.INT8, DataType.INT32, DataType.INT64, DataType.BF16, DataType.BOOL)
    for name in ("IPluginV3", "IPluginV3QuickCore", "IPluginV3QuickBuild", "IPluginV3QuickRuntime", "IPluginV3QuickAOTBuild", "IPluginCreatorV3Quick", "ISymExpr", "ITensor", "IExprBuilder"):
        setattr(trt, name, type(name, (_Base,), {}))
    trt.IDimensionExpr, trt.Logger, trt.Dims, trt.DimsExprs = IDimensionExpr, Logger, Dims, DimsExprs
    trt.PluginField, trt.PluginFieldCollection = PluginField, PluginFieldCollection
    trt.PluginTensorDesc, trt.DynamicPluginTensorDesc = PluginTensorDesc, DynamicPluginTensorDesc
    registry = PluginRegistry()
    trt.get_plugin_registry = lambda: registry
    trt.nptype = lambda dtype: _NPTYPE[dtype]
    return trt


def install(bindings_dir: Path) -> types.ModuleType:
    """Put the stand-in in ``sys.modules`` and import NVIDIA's ``tensorrt.plugin`` over it; returns ``tensorrt``."""
    for name in [n for n in sys.modules if n == "tensorrt" or n.startswith("tensorrt.")]:
        del sys.modules[name]
    trt = build_module(bindings_dir)
    sys.modules["tensorrt"] = trt
    import importlib

    trt.plugin = importlib.import_module("tensorrt.plugin")
    return trt


def uninstall() -> None:
    for name in [n for n in sys.modules if n == "tensorrt" or n.startswith("tensorrt.")]:
        del sys.modules[name]


def evaluate(expr, sizes: dict) -> int:
    """Value of a ``trtp`` symbolic expression (ShapeExpr, SymInt32, or its ``()`` result) for ``sizes``."""
    inner = getattr(expr, "expr", None) or getattr(expr, "_expr", None) or expr
    return inner.evaluate(sizes)


def cdiv(a: int, b: int) -> int:
    return math.ceil(a / b)
