"""ONNX Runtime kernel for ``inpaint::MaskedAttentionAggregate`` (onnxruntime-extensions Python op; no torch).

:func:`register` defines the op once per process; a session then needs
``SessionOptions.register_custom_ops_library(onnxruntime_extensions.get_library_path())``, called AFTER
``register()``. :func:`inpaint.ops.ort_custom_ops.custom_op_session_options` does both.

onnxruntime-extensions 0.15.2 reads only int64, float and string attributes; a declared attribute of type
``ints`` fails at session creation ("Attribute name and type don't match", checked here). The node's
``rate`` (ints [r_h, r_w]) is therefore not declared: the kernel takes the rate from the input shapes,
which determine it (H = g * r_h, W = g * r_w, L = g * g; ``contract.py``). A second definition of the same op
makes every later session fail (see :mod:`inpaint.ops.ort_kernel`).
"""

from __future__ import annotations

import numpy as np

from inpaint.ops import ort_kernel
from inpaint.ops.attention_aggregate.contract import DOMAIN, OP_TYPE
from inpaint.ops.attention_aggregate.numpy_impl import masked_attention_aggregate_numpy

#: the name onnxruntime-extensions files the op under: "<domain>::<op_type>"
QUALIFIED_OP_TYPE = f"{DOMAIN}::{OP_TYPE}"


def _kernel(x: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The op body ONNX Runtime calls: inputs in node order. Shapes in ``contract.py``."""
    return masked_attention_aggregate_numpy(x, scores)


def is_registered() -> bool:
    """True when this process already holds the Python op ``inpaint::MaskedAttentionAggregate``."""
    return ort_kernel.is_registered(QUALIFIED_OP_TYPE)


def register() -> None:
    """Define the ONNX Runtime kernel of ``inpaint::MaskedAttentionAggregate``; calling it again does nothing.

    Raises:
        MissingDependencyError: onnxruntime-extensions is not installed (extra ``plugins``).
    """
    ort_kernel.define_kernel(QUALIFIED_OP_TYPE, _kernel, 2)
