"""Runtime: read images and masks, run an exported model (ONNX Runtime, TensorRT or PyTorch), write results.

    from inpaint.runtime import Inpainter
    out = Inpainter.load("madf.onnx").inpaint(rgb, mask)     # rgb (H, W, 3) uint8, mask non-zero = hole

Layout: ``io`` (files), ``processing`` (padding, compositing), ``jobs`` (pairing inputs and outputs),
``sources`` (where pictures come from), ``backends`` (the engine table and the runners), ``strategies``
(crop / resize / full: how a large photo meets the model's working size), ``pipeline`` (batches),
``inpainter`` (the Python API), ``bench`` (latency and memory). No torch unless the torch engine is used.
The names below are imported on first use.
"""

from __future__ import annotations

from inpaint._lazy import lazy_attributes

__all__ = ["Inpainter", "Report", "run_pipeline", "load_runner", "resolve_engine", "ENGINES", "ImageFiles", "FrameSource"]

_WHERE = {
    "Inpainter": "inpaint.runtime.inpainter",
    "Report": "inpaint.runtime.pipeline",
    "run_pipeline": "inpaint.runtime.pipeline",
    "load_runner": "inpaint.runtime.backends",
    "resolve_engine": "inpaint.runtime.backends",
    "ENGINES": "inpaint.runtime.backends",
    "ImageFiles": "inpaint.runtime.sources",
    "FrameSource": "inpaint.runtime.sources",
}


__getattr__ = lazy_attributes(__name__, _WHERE)  # torch-importing modules load on first use
