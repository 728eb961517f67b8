"""Strict mapping of a foreign state dict (the authors' checkpoints) onto one of this package's modules."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from inpaint.errors import CheckpointError


def _few(keys: list[str]) -> str:
    return f"{keys[:5]}{'...' if len(keys) > 5 else ''}"


def strict_remap(
    items: Iterable[tuple[str, str | None, torch.Tensor]],
    target: dict[str, torch.Tensor],
    source: str,
    what: str,
    hint: str = "",
) -> dict[str, torch.Tensor]:
    """Build a state dict for ``target`` from ``(their_key, our_key or None, tensor)`` triples.

    Every ``our_key`` must exist in ``target`` with the same shape and every ``target`` key must be
    covered; a None ``our_key`` (no counterpart) counts as unexpected. Raises CheckpointError naming the
    offending keys, one line, with ``what`` (e.g. "MADF") and an optional ``hint``.
    """
    out: dict[str, torch.Tensor] = {}
    unexpected = []
    for key, new, value in items:
        if new is None or new not in target:
            unexpected.append(key)
            continue
        if tuple(value.shape) != tuple(target[new].shape):
            raise CheckpointError(f"{source}: '{key}' has shape {tuple(value.shape)}, this model expects {tuple(target[new].shape)} for '{new}'; is it for this preset?")
        out[new] = value
    missing = sorted(set(target) - set(out))
    if unexpected or missing:
        raise CheckpointError(
            f"{source}: does not fit {what}{hint} (unexpected keys: {_few(unexpected)}; missing keys: {_few(missing)}); "
            f"is it an authors' {what} checkpoint for this preset?"
        )
    return out
