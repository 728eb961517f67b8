"""Defining an onnxruntime-extensions Python kernel for an ``inpaint`` op, once per process (no torch).

onnxruntime-extensions 0.15.2 facts this relies on (read in its ``_ocos.py`` and ``pyop`` sources):
``op_type="domain::Name"`` puts the op in that domain; the node's attributes reach the function as
keyword arguments, cast by the declared ``attrs`` types (int64, float and string only: a declared ``ints``
attribute fails at session creation); a second definition of the same op makes every later session
fail ("Conflicting with a registered kernel"), hence :func:`is_registered`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from inpaint._lazy import require


def is_registered(qualified_op_type: str) -> bool:
    """True when this process already holds a Python op named ``qualified_op_type`` ("domain::Name")."""
    ext = require("onnxruntime_extensions")
    return any(getattr(op, "op_type", None) == qualified_op_type for op in getattr(ext.Opdef, "_odlist", {}).values())


def define_kernel(qualified_op_type: str, kernel: Callable, n_inputs: int, int_attributes: Sequence[str] = ()) -> None:
    """Define ``kernel`` (float32 inputs in node order, int attributes as keywords -> one float32 output)
    for ``qualified_op_type``; a second call does nothing.

    Raises:
        MissingDependencyError: onnxruntime-extensions is not installed (extra ``plugins``).
    """
    ext = require("onnxruntime_extensions")
    if is_registered(qualified_op_type):
        return
    dt = ext.PyCustomOpDef
    ext.onnx_op(
        op_type=qualified_op_type,
        inputs=[dt.dt_float] * n_inputs,
        outputs=[dt.dt_float],
        attrs={name: dt.dt_int64 for name in int_attributes},
    )(kernel)
