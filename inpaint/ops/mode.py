"""How the custom operators lower during ``torch.onnx.export``.

Models call each operator's dispatcher (e.g. :func:`inpaint.ops.dynamic_conv.op.mask_aware_dynamic_conv`).
In eager mode and in ``standard`` export it runs the exact standard-op form; inside
``with emit_custom_nodes():`` it emits ONE node in the ``inpaint`` domain (the form TensorRT maps to a
plugin and ONNX Runtime runs through onnxruntime-extensions). The switch is a flag read at trace time,
not a second copy of any module.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

_STATE = {"custom_nodes": False}


@contextlib.contextmanager
def emit_custom_nodes(enabled: bool = True) -> Iterator[None]:
    previous = _STATE["custom_nodes"]
    _STATE["custom_nodes"] = enabled
    try:
        yield
    finally:
        _STATE["custom_nodes"] = previous


def emitting_custom_nodes() -> bool:
    return _STATE["custom_nodes"]
