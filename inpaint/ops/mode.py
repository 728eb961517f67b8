"""How the custom operators lower during ``torch.onnx.export``.

Models call each operator's dispatcher (e.g. :func:`inpaint.ops.dynamic_conv.op.mask_aware_dynamic_conv`).
In eager mode and in ``standard`` export it runs the exact standard-op form; inside
``with export_mode(custom_nodes=True):`` it emits ONE node in the ``inpaint`` domain (the form TensorRT maps to a
plugin and ONNX Runtime runs through onnxruntime-extensions). The switch is a flag read at trace time,
not a second copy of any module.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

_STATE = {"exporting": False, "custom_nodes": False, "dft_nodes": False}


@contextlib.contextmanager
def export_mode(custom_nodes: bool, dft_nodes: bool = False) -> Iterator[None]:
    """Inside: the graph is being exported; ``custom_nodes`` chooses one custom node per operator (plugin
    graphs) or the standard-op forms. Export-only lowerings apply in both: the FFTs become DFT-matrix products
    unless ``dft_nodes`` (then ONNX ``DFT`` nodes, for ONNX Runtime's CPU provider; see
    :mod:`inpaint.export.onnx`, ``target``)."""
    previous = dict(_STATE)
    _STATE.update(exporting=True, custom_nodes=custom_nodes, dft_nodes=dft_nodes)
    try:
        yield
    finally:
        _STATE.update(previous)


def exporting() -> bool:
    """True while ``torch.onnx.export`` traces the model (either variant)."""
    return _STATE["exporting"]


def emitting_custom_nodes() -> bool:
    """True while exporting a plugin graph: each custom operator becomes one ``inpaint`` node."""
    return _STATE["custom_nodes"]


def emitting_dft_nodes() -> bool:
    """True while exporting for a runtime that has ONNX's ``DFT`` (ONNX Runtime CPU): FFTs stay ``torch.fft``,
    which the exporter writes as ``DFT`` nodes, instead of DFT-matrix products."""
    return _STATE["exporting"] and _STATE["dft_nodes"]
