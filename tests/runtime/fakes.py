"""A numpy-only Runner for pipeline tests: fills holes with a constant, records the batches it saw."""

from __future__ import annotations

import numpy as np

from inpaint.runtime.backends.base import ModelInfo, Runner


class FillRunner(Runner):
    """infer(image, mask) = image where known, ``value`` in the hole; stride ``stride``."""

    name = "fill"

    def __init__(self, stride: int = 16, value: float = 0.5):
        super().__init__("fill")
        self._stride, self.value = stride, value
        self.calls: list[tuple[int, ...]] = []

    def activate_impl(self) -> None:
        self.metadata = ModelInfo(family="test", preset="fill", stride=self._stride, train_size=64, ops="numpy")
        self.device = "cpu"

    def infer_impl(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self.calls.append(image.shape)
        return np.where(mask > 0.5, np.float32(self.value), image).astype(np.float32)

    def deactivate_impl(self) -> None:
        pass
