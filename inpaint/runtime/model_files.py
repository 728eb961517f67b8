"""Which model file to run: the user's ``--model PATH`` or the bundled default.

The default ships as package data: ``inpaint/assets/default.onnx`` (ONNX Runtime) and
``inpaint/assets/default.safetensors`` (the same weights as a checkpoint, for ``--engine torch``).
An install without them raises a UserError that says to pass ``--model``.
"""

from __future__ import annotations

from pathlib import Path

from inpaint.errors import UserError

__all__ = ["ASSETS", "DEFAULT_ONNX", "DEFAULT_CHECKPOINT", "default_model", "resolve_model"]

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEFAULT_ONNX = "default.onnx"
DEFAULT_CHECKPOINT = "default.safetensors"

NO_DEFAULT = (
    "no bundled default model in this install; pass --model PATH "
    "(an .onnx from 'inpaint export' or a .safetensors checkpoint)"
)


def default_model(engine: str = "auto", assets: Path | None = None) -> Path:
    """Path of the bundled default model for ``engine``.

    engine "torch": ``default.safetensors``; any other engine ("auto", "onnx", "trt"): ``default.onnx``,
    and for "auto" the checkpoint when only it is installed. assets: the folder [default: :data:`ASSETS`].
    Raises UserError when the file is absent.
    """
    assets = ASSETS if assets is None else assets
    names = {"torch": [DEFAULT_CHECKPOINT], "auto": [DEFAULT_ONNX, DEFAULT_CHECKPOINT]}.get(engine, [DEFAULT_ONNX])
    for name in names:
        path = assets / name
        if path.is_file():
            return path
    raise UserError(NO_DEFAULT)


def resolve_model(path: str | Path | None, engine: str = "auto") -> Path:
    """``path`` as a Path when given (its existence is checked by the runner), else :func:`default_model`."""
    return default_model(engine) if path is None else Path(path)
