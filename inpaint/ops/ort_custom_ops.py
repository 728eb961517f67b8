"""ONNX Runtime session options that can run this package's custom-domain nodes (no torch, no onnx).

A graph exported with ``--ops plugin`` holds nodes in the domain ``inpaint`` (one per custom operator
use). ONNX Runtime runs them through onnxruntime-extensions Python ops, one NumPy kernel per operator:

    ops = graph_custom_ops("madf.onnx")                 # {"MaskAwareDynamicConv"}
    sess = onnxruntime.InferenceSession("madf.onnx", custom_op_session_options(ops))

Adding an operator = one row in :data:`OPS` naming a module with a ``register()`` function.
"""

from __future__ import annotations

import importlib
import mmap
import os
from collections.abc import Iterator

from inpaint._lazy import require
from inpaint.errors import UserError
from inpaint.ops.dynamic_conv.contract import DOMAIN  # "inpaint", shared by every operator of this package

#: op type in the "inpaint" domain -> module whose ``register()`` defines its ONNX Runtime kernel
OPS: dict[str, str] = {
    "MaskAwareDynamicConv": "inpaint.ops.dynamic_conv.ort",
    "MaskedAttentionAggregate": "inpaint.ops.attention_aggregate.ort",
}


def custom_op_session_options(model_domains: set[str] | None = None):
    """Session options with ONNX Runtime kernels for the ``inpaint`` ops a model uses.

    Args:
        model_domains: op types of the ``inpaint`` domain that the model contains, as returned by
            :func:`graph_custom_ops`; None (or an entry equal to the domain name ``"inpaint"``) means every
            operator in :data:`OPS`. An empty set gives plain options and needs no onnxruntime-extensions.
    Returns:
        ``onnxruntime.SessionOptions``; pass it to ``onnxruntime.InferenceSession``. Set other fields
        (threads, graph optimisation level) on it as usual.
    Raises:
        UserError: the model uses an ``inpaint`` op this package has no ONNX Runtime kernel for.
        MissingDependencyError: onnxruntime or onnxruntime-extensions (extra ``plugins``) is missing.
    """
    ort = require("onnxruntime")
    wanted = set(OPS) if model_domains is None or DOMAIN in model_domains else set(model_domains)
    unknown = sorted(wanted - set(OPS))
    if unknown:
        raise UserError(
            f"the model uses the operator(s) {', '.join(f'{DOMAIN}::{op}' for op in unknown)}, which have no ONNX Runtime "
            f"kernel here (known: {', '.join(sorted(OPS))}); export the model with '--ops standard' instead"
        )
    options = ort.SessionOptions()
    if not wanted:
        return options
    ext = require("onnxruntime_extensions")
    # every kernel of OPS is defined before the library is first loaded, not only the wanted ones: a Python op
    # defined after the library went into some session options makes the interpreter crash at exit
    # (segmentation fault, onnxruntime-extensions 0.15.2, seen here with two ops)
    for op_type in sorted(OPS):
        importlib.import_module(OPS[op_type]).register()
    # the library picks up the Python ops defined so far, so this comes after every register()
    options.register_custom_ops_library(ext.get_library_path())
    return options


# --- reading op types from a .onnx file without the onnx package -------------------------------------
# Field numbers from onnx/onnx.proto (stable since IR version 3; functions since IR version 8).
_MODEL_GRAPH, _MODEL_FUNCTIONS = 7, 25
_GRAPH_NODE = 1
_NODE_OP_TYPE, _NODE_ATTRIBUTE, _NODE_DOMAIN = 4, 5, 7
_ATTR_GRAPH, _ATTR_GRAPHS = 6, 11
_FUNCTION_NAME, _FUNCTION_NODE, _FUNCTION_DOMAIN = 1, 7, 10
_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


class _Malformed(ValueError):
    pass


def _varint(buf, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise _Malformed("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """Yield (field number, start, end) of every length-delimited field of one message; skip the rest."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            _, pos = _varint(buf, pos, end)
        elif wire == _FIXED64:
            pos += 8
        elif wire == _FIXED32:
            pos += 4
        elif wire == _LENGTH:
            size, pos = _varint(buf, pos, end)
            if pos + size > end:
                raise _Malformed("field runs past its message")
            yield number, pos, pos + size
            pos += size
        else:
            raise _Malformed(f"wire type {wire}")
    if pos != end:
        raise _Malformed("message runs past its end")


def _nodes(buf, start: int, end: int, node_field: int) -> Iterator[tuple[str, str]]:
    """(domain, op_type) of every node of a graph or function body, subgraphs (If/Loop/Scan) included."""
    for number, a, b in _fields(buf, start, end):
        if number != node_field:
            continue
        op_type = domain = ""
        for field, c, d in _fields(buf, a, b):
            if field == _NODE_OP_TYPE:
                op_type = bytes(buf[c:d]).decode()
            elif field == _NODE_DOMAIN:
                domain = bytes(buf[c:d]).decode()
            elif field == _NODE_ATTRIBUTE:
                for attr_field, g0, g1 in _fields(buf, c, d):
                    if attr_field in (_ATTR_GRAPH, _ATTR_GRAPHS):
                        yield from _nodes(buf, g0, g1, _GRAPH_NODE)
        yield domain, op_type


def _model_ops(buf) -> set[str]:
    used: set[tuple[str, str]] = set()
    local_functions: set[tuple[str, str]] = set()
    for number, a, b in _fields(buf, 0, len(buf)):
        if number == _MODEL_GRAPH:
            used.update(_nodes(buf, a, b, _GRAPH_NODE))
        elif number == _MODEL_FUNCTIONS:
            name = domain = ""
            for field, c, d in _fields(buf, a, b):
                if field == _FUNCTION_NAME:
                    name = bytes(buf[c:d]).decode()
                elif field == _FUNCTION_DOMAIN:
                    domain = bytes(buf[c:d]).decode()
            local_functions.add((domain, name))
            used.update(_nodes(buf, a, b, _FUNCTION_NODE))
    # a call of a model-local function is not an operator ONNX Runtime needs a kernel for
    return {op for domain, op in used - local_functions if domain == DOMAIN}


def graph_custom_ops(onnx_path: str | os.PathLike[str]) -> set[str]:
    """Op types of the ``inpaint`` domain used anywhere in an ONNX model (main graph, subgraphs, functions).

    Reads the protobuf wire format directly (memory-mapped; initializers are skipped, not decoded), so
    neither ``onnx`` nor ``torch`` is needed. External-data files are not read (they hold no nodes).

    Args:
        onnx_path: a ``.onnx`` file.
    Returns:
        e.g. ``{"MaskAwareDynamicConv"}``; empty for a graph of standard ops only.
    Raises:
        UserError: the file is missing, unreadable or not an ONNX model.
    """
    path = os.fspath(onnx_path)
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                raise UserError(f"{path}: the file is empty; export the model again")
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _model_ops(buf)
    except OSError as exc:
        raise UserError(f"{path}: cannot read the ONNX model ({exc.strerror or exc}); check the path") from exc
    except (_Malformed, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not an ONNX model ({exc}); pass a .onnx file written by 'inpaint export'") from exc
