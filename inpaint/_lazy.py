"""Lazy imports of optional heavy packages (torch, onnxruntime, tensorrt, onnx ...).

Modeled on Polygraphy's ``mod.lazy_import``: nothing is imported until first use, and a missing
package raises :class:`~inpaint.errors.MissingDependencyError` naming the extra that installs it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from inpaint.errors import MissingDependencyError

#: package -> pip extra of this project that installs it
EXTRAS = {
    "torch": "train",
    "safetensors": "train",
    "tensorboard": "train",
    "onnx": "export",
    "onnxscript": "export",
    "polygraphy": "export",
    "onnxruntime": "(core dependency)",
    "onnxruntime_extensions": "plugins",
    "tensorrt": "trt",
    "cuda": "trt",  # cuda-python (cuda.bindings)
    "fastapi": "serve",
    "uvicorn": "serve",
    "python_multipart": "serve",
}


def require(name: str) -> ModuleType:
    """Import ``name`` now, or raise MissingDependencyError with the install hint."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        top = name.split(".")[0]
        extra = EXTRAS.get(top, "")
        hint = f"pip install 'inpaint-toolkit[{extra}]'" if extra and not extra.startswith("(") else extra
        raise MissingDependencyError(f"this needs the Python package '{top}' ({exc}); install it: {hint}") from exc


def available(name: str) -> bool:
    """True when ``name`` can be imported (imports it)."""
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def lazy_attributes(package: str, table: dict[str, str]):
    """A module ``__getattr__`` that imports ``table[name]`` (a module path) on first use of ``name``.

    Used where a package's public names live in modules that import torch or onnxruntime, so that
    importing the package itself stays cheap and torch-free (PEP 562).
    """

    def __getattr__(name: str):
        if name in table:
            return getattr(importlib.import_module(table[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
