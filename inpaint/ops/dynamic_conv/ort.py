"""ONNX Runtime kernel for ``inpaint::MaskAwareDynamicConv`` (onnxruntime-extensions Python op; no torch).

:func:`register` defines the op once per process; a session then needs
``SessionOptions.register_custom_ops_library(onnxruntime_extensions.get_library_path())``, called AFTER
``register()`` (the library reads the Python ops when it is loaded into the session options).
:func:`inpaint.ops.ort_custom_ops.custom_op_session_options` does both.

onnxruntime-extensions 0.15.2 facts this relies on (read in its ``_ocos.py`` and ``pyop`` sources):
``op_type="domain::Name"`` puts the op in that domain (default ``ai.onnx.contrib``); the node's
attributes reach the function as keyword arguments, cast by the declared ``attrs`` types, and a node
lacking a declared attribute fails at session creation; a second definition of the same op makes every
later session fail (see :mod:`inpaint.ops.ort_kernel`).
"""

from __future__ import annotations

import numpy as np

from inpaint.ops import ort_kernel
from inpaint.ops.dynamic_conv.contract import DOMAIN, OP_TYPE
from inpaint.ops.dynamic_conv.numpy_impl import dynamic_conv_numpy

#: the name onnxruntime-extensions files the op under: "<domain>::<op_type>"
QUALIFIED_OP_TYPE = f"{DOMAIN}::{OP_TYPE}"

#: attribute names of the node (contract.py); all are int64 in the ONNX graph
ATTRIBUTES = ("kernel_size", "stride", "pad")


def _kernel(e: np.ndarray, m: np.ndarray, weight: np.ndarray, bias: np.ndarray, **attrs: int) -> np.ndarray:
    """The op body ONNX Runtime calls: inputs in node order, attributes as keywords. Shapes in ``contract.py``."""
    return dynamic_conv_numpy(e, m, weight, bias, attrs["kernel_size"], attrs["stride"], attrs["pad"])


def is_registered() -> bool:
    """True when this process already holds the Python op ``inpaint::MaskAwareDynamicConv``."""
    return ort_kernel.is_registered(QUALIFIED_OP_TYPE)


def register() -> None:
    """Define the ONNX Runtime kernel of ``inpaint::MaskAwareDynamicConv``; calling it again does nothing.

    Raises:
        MissingDependencyError: onnxruntime-extensions is not installed (extra ``plugins``).
    """
    ort_kernel.define_kernel(QUALIFIED_OP_TYPE, _kernel, 4, ATTRIBUTES)
