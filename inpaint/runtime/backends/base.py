"""The one interface every backend has: a :class:`Runner` (Polygraphy style) and the :class:`ModelInfo` it reports.

A runner is a context manager. ``activate()`` loads what it needs (a session, a model on a device),
``infer(image, mask)`` validates its arguments and calls ``infer_impl``, ``deactivate()`` frees it:

    with runner:                                    # activate() ... deactivate()
        out = runner.infer(image, mask)             # (N, 3, H, W) float32 in [0, 1]

Arguments and result follow the graph contract (:mod:`inpaint.export.contract`):

    image  (N, 3, H, W) float32 RGB in [0, 1]
    mask   (N, 1, H, W) float32, 1 = hole (the region to remove), 0 = known
    result (N, 3, H, W) float32 in [0, 1], composited (known pixels = ``image``)

H and W must be multiples of ``runner.stride``; padding is the caller's job
(:func:`inpaint.runtime.processing.pad_to_multiple`), shared by every backend. No torch here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["ModelInfo", "Pending", "Runner"]


@dataclass(frozen=True)
class ModelInfo:
    """What a runner knows about its model (from ONNX ``metadata_props`` or a checkpoint's config).

    family: "madf" | "far". preset: e.g. "madf-t". stride: H and W multiple of ``infer``'s inputs.
    train_size: the (square) size the network was designed / trained at. ops: "standard" | "plugin" for an
    ONNX graph, "torch" for a checkpoint. custom_ops: op types of the ``inpaint`` domain in the graph.
    version: the package version that wrote the file ("" when unknown).
    """

    family: str
    preset: str
    stride: int
    train_size: int
    ops: str
    custom_ops: frozenset[str] = field(default_factory=frozenset)
    version: str = ""


class Pending:
    """A batch being inferred (:meth:`Runner.infer_async`): ``result()`` waits for it and returns the output."""

    def __init__(self, value: np.ndarray | None = None, wait=None):
        self._value, self._wait = value, wait

    def result(self) -> np.ndarray:
        """(N, 3, H, W) float32 in [0, 1], as :meth:`Runner.infer` returns (waits once, then cached)."""
        if self._wait is not None:
            self._value, self._wait = self._wait(), None
        return self._value


class Runner(ABC):
    """Base class of the backends: validation and activation bookkeeping here, the work in ``*_impl``.

    Subclasses set ``name`` (the engine name), implement :meth:`activate_impl` (must set
    ``self.metadata`` and ``self.device``), :meth:`infer_impl` and :meth:`deactivate_impl`.
    """

    #: the engine's name in the engine table ("onnx", "torch", ...)
    name: str = ""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.is_active = False
        self.metadata: ModelInfo | None = None
        #: where it runs, in words ("cpu", "cuda:0", "CUDAExecutionProvider"), set by activate_impl
        self.device: str = ""

    # --- the interface -----------------------------------------------------------------------------
    @property
    def stride(self) -> int:
        """H and W of ``infer``'s inputs must be multiples of this (the runner must be active)."""
        return self._info().stride

    def activate(self) -> Runner:
        """Load the model (idempotent). Returns self."""
        if not self.is_active:
            self.activate_impl()
            if self.metadata is None:
                raise RuntimeError(f"{type(self).__name__}.activate_impl did not set metadata")
            self.is_active = True
        return self

    def infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Inpaint a batch.

        image: (N, 3, H, W) float32 RGB in [0, 1]. mask: (N, 1, H, W) float32, 1 = hole.
        H and W multiples of :attr:`stride`. Returns (N, 3, H, W) float32 in [0, 1], known pixels = image.
        """
        if not self.is_active:
            raise RuntimeError(f"{type(self).__name__} is not active; use 'with runner:' or runner.activate()")
        self._check_inputs(image, mask)
        out = self.infer_impl(np.ascontiguousarray(image), np.ascontiguousarray(mask))
        if out.shape != image.shape or out.dtype != np.float32:
            raise RuntimeError(
                f"{self.name} backend returned {out.dtype} {out.shape}, expected float32 {image.shape}"
            )
        return out

    def infer_async(self, image: np.ndarray, mask: np.ndarray) -> Pending:
        """Start inferring a batch and return at once; ``.result()`` gives what :meth:`infer` would.

        A pipeline submits batch k + 1 before it collects batch k, so that a backend with its own
        streams (TensorRT) overlaps host/device copies with compute. The default computes now.
        Arrays passed in must stay unchanged until ``result()`` returns.
        """
        return Pending(self.infer(image, mask))

    def deactivate(self) -> None:
        """Free the session / model (idempotent)."""
        if self.is_active:
            self.deactivate_impl()
            self.is_active = False

    def __enter__(self) -> Runner:
        return self.activate()

    def __exit__(self, *exc_info: object) -> None:
        self.deactivate()

    # --- for subclasses ------------------------------------------------------------------------------
    @abstractmethod
    def activate_impl(self) -> None:
        """Load the model; set ``self.metadata`` and ``self.device``."""

    @abstractmethod
    def infer_impl(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Same contract as :meth:`infer`, arguments already validated and C-contiguous."""

    @abstractmethod
    def deactivate_impl(self) -> None:
        """Free what ``activate_impl`` loaded."""

    # --- helpers ---------------------------------------------------------------------------------------
    def _info(self) -> ModelInfo:
        if self.metadata is None:
            raise RuntimeError(f"{type(self).__name__} is not active; its model metadata is not loaded yet")
        return self.metadata

    def _check_inputs(self, image: np.ndarray, mask: np.ndarray) -> None:
        if not isinstance(image, np.ndarray) or not isinstance(mask, np.ndarray):
            raise TypeError("image and mask must be numpy arrays")
        if image.dtype != np.float32 or mask.dtype != np.float32:
            raise TypeError(f"image and mask must be float32, got {image.dtype} and {mask.dtype}")
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"image must be (N, 3, H, W), got {image.shape}")
        n, _, h, w = image.shape
        if mask.shape != (n, 1, h, w):
            raise ValueError(f"mask must be (N, 1, H, W) = {(n, 1, h, w)}, got {mask.shape}")
        s = self.stride
        if n == 0 or h == 0 or w == 0 or h % s or w % s:
            raise ValueError(f"H and W must be positive multiples of the stride {s}, got {h}x{w} (pad first)")
