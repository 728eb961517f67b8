"""PyTorch backend: runs a ``.safetensors`` checkpoint (``inpaint train`` / ``inpaint convert``) eagerly.

    runner = TorchRunner(ModelFromCheckpoint("madf.safetensors", device="auto"))

torch is imported only when the loader is called. The runner calls the model's ``forward(image, mask)``
on inputs already padded to the stride by the shared pre-processing: the same computation as the
exported graph (:class:`inpaint.export.onnx.GraphContract`): predict, clamp to [0, 1], keep known pixels.
CUDA when ``torch.cuda.is_available()``, else CPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inpaint._lazy import require
from inpaint.errors import UserError
from inpaint.runtime.backends.base import ModelInfo, Runner

__all__ = ["ModelFromCheckpoint", "TorchRunner", "load"]


def _device(torch, device: str) -> str:
    if device == "cpu":
        return "cpu"
    if torch.cuda.is_available():
        return "cuda:0"
    if device == "cuda":
        raise UserError("--device cuda: torch sees no CUDA device; install a CUDA build of torch or use --device cpu")
    return "cpu"


class ModelFromCheckpoint:
    """Lazy loader: calling it returns ``(model in eval mode on its device, device string)``.

    device: "auto" (CUDA when available) | "cpu" | "cuda".
    """

    def __init__(self, path: str | Path, device: str = "auto"):
        self.path = Path(path)
        self.device = device

    def __call__(self):
        torch = require("torch")
        from inpaint.models.checkpoint import load_model  # imports torch: only here

        device = _device(torch, self.device)
        return load_model(self.path, device=device), device


class TorchRunner(Runner):
    """Runs an :class:`~inpaint.models.base.InpaintModel` under ``torch.inference_mode``."""

    name = "torch"

    def __init__(self, model_loader: ModelFromCheckpoint):
        super().__init__(model_loader.path)
        self._loader = model_loader
        self._model = None
        self._torch = None

    def activate_impl(self) -> None:
        self._torch = require("torch")
        self._model, self.device = self._loader()
        config = getattr(self._model, "config", {})
        self.metadata = ModelInfo(
            family=config.get("family", ""),
            preset=config.get("preset", ""),
            stride=int(self._model.stride),
            train_size=int(self._model.train_size),
            ops="torch",
        )

    def infer_impl(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(image).to(self.device)
            m = torch.from_numpy(mask).to(self.device)
            out = self._model(x, m)
            return out.float().cpu().numpy()

    def deactivate_impl(self) -> None:
        self._model = None
        if self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()


def load(path: str | Path, device: str = "auto") -> TorchRunner:
    """The engine table's entry point: an (inactive) runner for ``path``."""
    return TorchRunner(ModelFromCheckpoint(path, device))
