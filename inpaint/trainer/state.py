"""Training state for exact resume, in safetensors (no pickle): optimisers, extra modules, AMP scaler,
torch RNG states, the step and anything JSON-serialisable.

A run folder holds ``last.safetensors`` (model weights + config, :mod:`inpaint.models.checkpoint` format;
what ``inpaint export`` reads) and ``last.state.safetensors`` (this file's format), both written
atomically, state first; resuming checks that both carry the same step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from inpaint._atomic import atomic_path
from inpaint._lazy import require
from inpaint.errors import CheckpointError

FORMAT = "inpaint.train-state/1"


def _split_tensors(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor inside nested dicts/lists by ``{"__tensor__": key}`` and collect it."""
    if isinstance(obj, torch.Tensor):
        key = prefix
        tensors[key] = obj.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(obj, dict):
        return {"__dict__": [[_split_tensors(k, f"{prefix}.k{i}", tensors), _split_tensors(v, f"{prefix}.{i}", tensors)] for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, (list, tuple)):
        return [_split_tensors(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    return obj


def _join_tensors(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict) and "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if isinstance(obj, dict) and "__dict__" in obj:
        return {_join_tensors(k, tensors): _join_tensors(v, tensors) for k, v in obj["__dict__"]}
    if isinstance(obj, dict):
        return {k: _join_tensors(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_join_tensors(v, tensors) for v in obj]
    return obj


def rng_state() -> dict[str, Any]:
    """torch's CPU and CUDA generator states (the data pipeline draws from its own seeded generators)."""
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def rank_rng_path(run: str | Path, rank: int) -> Path:
    """Where rank ``rank`` (> 0) of a torchrun job keeps its own RNG state beside ``last.state.safetensors``
    (rank 0's is in that file): ``RUN/last.rank<r>.rng.safetensors``."""
    return Path(run) / f"last.rank{int(rank)}.rng.safetensors"


def save_rank_rng(run: str | Path, rank: int, step: int) -> Path:
    """Write this process's RNG state for rank ``rank`` at ``step`` (atomic)."""
    return save_train_state(rank_rng_path(run, rank), step, {"rng": rng_state()})


def rank_rng(run: str | Path, rank: int, step: int, fallback: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(RNG state rank ``rank`` resumes with, "" or why it is ``fallback``): rank 0 uses ``fallback`` (the main
    state's); another rank its own file when it holds the same step, else ``fallback``."""
    if int(rank) == 0:
        return fallback, ""
    path = rank_rng_path(run, rank)
    if not path.is_file():
        return fallback, f"{path.name} is missing"
    saved_step, objects, _ = load_train_state(path)
    if saved_step != step:
        return fallback, f"{path.name} is from step {saved_step}, not {step}"
    return objects["rng"], ""


def load_scaler_state(scaler, state: dict[str, Any]) -> str:
    """Load a GradScaler's saved state; returns "" or why it was not loaded.

    A run saved under bf16 or fp32 (scaler disabled: empty state) and resumed under fp16 (enabled) starts a fresh
    loss scale (``GradScaler.load_state_dict`` raises on an empty state); an fp16 state resumed under bf16 is
    ignored by the disabled scaler.
    """
    if not state:
        return "the run was saved without fp16 loss scaling (bf16 or fp32): a fresh loss scale" if scaler.is_enabled() else ""
    if not scaler.is_enabled():
        return "the saved fp16 loss scale is not used (this run does not scale losses)"
    scaler.load_state_dict(state)
    return ""


def save_train_state(path: str | Path, step: int, objects: dict[str, Any], extra: dict[str, Any] | None = None) -> Path:
    """Write ``objects`` (name -> anything with ``state_dict()``, or a nested structure of tensors / JSON
    values) and ``extra`` (JSON) to ``path`` atomically."""
    tensors: dict[str, torch.Tensor] = {}
    tree = {name: _split_tensors(o.state_dict() if hasattr(o, "state_dict") else o, name, tensors) for name, o in objects.items()}
    meta = {"format": FORMAT, "step": str(step), "tree": json.dumps(tree), "extra": json.dumps(extra or {})}
    with atomic_path(path) as tmp:
        require("safetensors.torch").save_file(tensors, str(tmp), metadata=meta)
    return Path(path)


def load_train_state(path: str | Path) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Read a train-state file: ``(step, objects, extra)``; objects hold state dicts to ``load_state_dict``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no training state to resume from; give the run folder of an earlier 'inpaint train'")
    st = require("safetensors.torch")
    with st.safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an inpaint training-state file")
    tensors = st.load_file(str(path))
    return int(meta["step"]), _join_tensors(json.loads(meta["tree"]), tensors), json.loads(meta["extra"])
