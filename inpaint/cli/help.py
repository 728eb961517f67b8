"""Help that reads as a person types: placeholders instead of Python types, no value shown for on/off flags.

Typer prints each parameter's type as ``<bool>``, ``<float,float>...``, ``<list[Path]>``. :func:`humanize` walks the
command tree once and gives every parameter without its own ``metavar`` one in the usual Unix style (``PATH``,
``N``, ``X``, ``TEXT``, ``LOW HIGH``, ``MODEL...``, ``on|off``), and flags none at all.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import get_args

__all__ = ["humanize", "placeholder"]

#: placeholders for parameters whose name says more than their type
_NAMED = {"hole_range": "LOW HIGH", "scale_range": "LOW HIGH", "shard": "K/N", "output": "OUT"}


def placeholder(param) -> str:
    """The metavar a Typer parameter should show ("" for a flag)."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    if param.name in _NAMED:
        return _NAMED[param.name]
    desc = param.type_descriptor
    argument = not hasattr(param, "is_flag")
    if desc.is_tuple:
        return " ".join(_single(a, param.name, argument) for a in get_args(desc.annotation))
    if desc.is_choice:
        text = "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())
    else:
        annotation = desc.annotation
        if desc.is_list:
            (annotation,) = get_args(annotation) or (str,)
        text = _single(annotation, param.name, argument)
    return f"{text}..." if desc.is_list or param.nargs == -1 else text


def _single(annotation, name: str | None, argument: bool) -> str:
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "|".join(str(m.value) for m in annotation)
    if argument:
        return (name or "value").upper()
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return "PATH"
    if annotation is int:
        return "N"
    if annotation is float:
        return "X"
    return "TEXT"


def humanize(command):
    """Set the placeholders of every parameter of ``command`` and its subcommands; returns ``command``.

    An argument shows its name in the usage line and nothing in the type column (its name is the placeholder);
    ``--help`` shows no value."""
    for param in command.params:
        if param.metavar is None and hasattr(param, "type_descriptor"):
            if hasattr(param, "is_flag"):
                param.metavar = placeholder(param)
            else:
                param.metavar = (param.name or "value").upper()
                param.display_type_rich = lambda ctx: None
    help_option = command.get_help_option

    def quiet_help(ctx, help_option=help_option):
        option = help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = quiet_help
    for sub in getattr(command, "commands", {}).values():
        humanize(sub)
    return command
