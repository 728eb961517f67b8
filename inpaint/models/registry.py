"""Named presets, timm style: one small registered function per preset, ``build_model(name, **overrides)``.

A preset function only names architecture arguments. Every built model carries ``model.config``
(``{"family", "preset", "args"}``), which is what checkpoints store and :func:`model_from_config`
rebuilds from.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable

from inpaint.errors import UserError

_PRESETS: dict[str, Callable[..., Any]] = {}
_FAMILIES: dict[str, Callable[..., Any]] = {}


def register_family(name: str, builder: Callable[..., Any]) -> None:
    """Register a model family: ``builder(**args)`` returns an :class:`~inpaint.models.base.InpaintModel`."""
    _FAMILIES[name] = builder


def register_preset(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: the function's name with ``_`` -> ``-`` is the preset name (``madf_s`` -> ``madf-s``)."""
    _PRESETS[fn.__name__.replace("_", "-")] = fn
    return fn


def list_models(pattern: str = "") -> list[str]:
    """Preset names, sorted, optionally filtered by a substring."""
    return sorted(n for n in _PRESETS if pattern in n)


def _unknown(name: str, known: list[str], what: str) -> UserError:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return UserError(f"unknown {what} '{name}'{hint} (known: {', '.join(known)})")


def build_model(name: str, **overrides: Any):
    """Build preset ``name``; ``None`` overrides are dropped, others replace the preset's arguments."""
    if name not in _PRESETS:
        raise _unknown(name, list_models(), "model")
    return _PRESETS[name](**{k: v for k, v in overrides.items() if v is not None})


def build_family(family: str, preset: str, **args: Any):
    """Used by preset functions: build ``family`` with ``args`` and record the config."""
    if family not in _FAMILIES:
        raise _unknown(family, sorted(_FAMILIES), "model family")
    model = _FAMILIES[family](**args)
    model.config = {"family": family, "preset": preset, "args": dict(args)}
    return model


def model_from_config(config: dict[str, Any]):
    """Rebuild a model from ``model.config`` (as stored in a checkpoint's metadata)."""
    return build_family(config["family"], config.get("preset", config["family"]), **config["args"])
