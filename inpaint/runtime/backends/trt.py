"""TensorRT: the engine name is reserved; the runner arrives with the TensorRT issue.

Nothing here builds or runs a TensorRT engine: TensorRT cannot be installed on the development machines
(its library wheels come from NVIDIA's own index, DESIGN.md), so no implementation could be tested.
Selecting ``--engine trt`` (or running a ``.engine`` file) raises a :class:`UserError` that says so.
"""

from __future__ import annotations

from pathlib import Path

from inpaint.errors import UserError

__all__ = ["load", "NOT_AVAILABLE"]

NOT_AVAILABLE = (
    "--engine trt: TensorRT engines arrive with the TensorRT issue; this version of inpaint cannot build or run them. "
    "Use --engine onnx (ONNX Runtime, on CUDA when onnxruntime-gpu is installed) or --engine auto"
)


def load(path: str | Path, device: str = "auto"):
    """Always raises UserError (see the module docstring)."""
    raise UserError(f"{NOT_AVAILABLE} (model: {path})")
