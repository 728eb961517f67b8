"""The Python API: load a model once, inpaint arrays.

    from inpaint import Inpainter
    painter = Inpainter.load("madf.onnx")              # engine="auto": the fastest installed backend
    out = painter.inpaint(rgb, mask)                   # rgb (H, W, 3) uint8, mask (H, W) non-zero = hole

Any H and W: ``strategy="auto"`` runs small pictures at full resolution and large ones in windows around
the holes (:mod:`inpaint.runtime.strategies`); known pixels come back bit-identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from inpaint.errors import UserError
from inpaint.runtime.backends import load_runner
from inpaint.runtime.backends.base import ModelInfo, Runner
from inpaint.runtime.model_files import resolve_model
from inpaint.runtime.pipeline import inpaint_arrays
from inpaint.runtime.strategies import check_strategy
from inpaint.runtime.texture import check_texture

__all__ = ["Inpainter"]


def _check_pair(rgb: np.ndarray, mask: np.ndarray, index: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    where = "" if index is None else f" (item {index})"
    rgb, mask = np.asarray(rgb), np.asarray(mask)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype not in (np.uint8, np.uint16):
        raise UserError(f"image{where}: expected (H, W, 3) uint8 or uint16 RGB, got {rgb.dtype} {rgb.shape}")
    if mask.ndim == 3 and mask.shape[2] == 1:
        mask = mask[:, :, 0]
    if mask.shape != rgb.shape[:2]:
        raise UserError(f"mask{where}: expected (H, W) = {rgb.shape[:2]} like the image, got {mask.shape}")
    return rgb, mask != 0


def _check_dilate(dilate: int) -> int:
    if int(dilate) != dilate or dilate < 0:
        raise UserError(f"dilate={dilate}: must be a whole number of pixels, 0 or more")
    return int(dilate)


class Inpainter:
    """A loaded model behind one backend. Use :meth:`load`; close it (or use ``with``) to free it."""

    def __init__(self, runner: Runner, strategy: str = "auto", dilate: int = 0, texture: str | float = "on"):
        self.strategy, self.dilate = check_strategy(strategy), _check_dilate(dilate)
        check_texture(texture)
        self.texture = texture
        self.runner = runner.activate()

    @classmethod
    def load(cls, path: str | Path | None = None, engine: str = "auto", device: str = "auto", *,
             strategy: str = "auto", dilate: int = 0, texture: str | float = "on", **options) -> Inpainter:
        """Load ``path`` (an .onnx from ``inpaint export``, a .engine, or a .safetensors checkpoint; None = the bundled default).

        engine: "auto" (the fastest backend here that runs the file: TensorRT on an NVIDIA GPU, else ONNX
        Runtime for an .onnx) | "onnx" | "torch" | "trt" (a .engine / .plan, or an .onnx built once into the
        engine cache). device: "auto" (CUDA when available) | "cpu" | "cuda".
        strategy: how a picture meets the model's working size, the default of :meth:`inpaint`: "auto" |
            "crop" | "resize" | "full" (see :func:`inpaint.runtime.pipeline.inpaint_arrays`).
        dilate: grow every mask by this many pixels before inpainting (default 0).
        texture: "on" (default: texture from the picture's known region in the fill, :mod:`inpaint.runtime.texture`),
            "off" (the network's fill alone) or a strength in [0, 2].
        options: engine options, e.g. ``cuda_graph=True`` for TensorRT.
        Raises UserError for a missing file, an unknown engine or one that cannot run the file.
        """
        check_strategy(strategy)
        _check_dilate(dilate)
        check_texture(texture)
        return cls(load_runner(resolve_model(path, engine), engine, device, **options), strategy=strategy, dilate=dilate,
                   texture=texture)

    @property
    def engine(self) -> str:
        """The backend's engine name ("trt", "onnx", "torch")."""
        return self.runner.name

    @property
    def info(self) -> ModelInfo:
        """family, preset, stride, ... of the loaded model."""
        return self.runner._info()

    def inpaint(self, rgb: np.ndarray, mask: np.ndarray, *, strategy: str | None = None,
                dilate: int | None = None, texture: str | float | None = None) -> np.ndarray:
        """Fill the hole of one picture.

        rgb: (H, W, 3) uint8 in [0, 255] or uint16 in [0, 65535], RGB.
        mask: (H, W) (or (H, W, 1)) bool / integer, non-zero = hole (the region to remove).
        strategy, dilate, texture: override the ones given to :meth:`load` for this call.
        Returns (H, W, 3) with the dtype of ``rgb``; pixels outside the (dilated) hole are bit-identical to ``rgb``.
        """
        rgb, hole = _check_pair(rgb, mask)
        return inpaint_arrays(self.runner, [rgb], [hole], **self._options(strategy, dilate, texture))[0]

    def _options(self, strategy: str | None, dilate: int | None, texture: str | float | None = None) -> dict:
        texture = self.texture if texture is None else texture
        check_texture(texture)
        return {"strategy": check_strategy(strategy or self.strategy),
                "dilate": self.dilate if dilate is None else _check_dilate(dilate), "texture": texture}

    def inpaint_batch(self, rgbs: Sequence[np.ndarray], masks: Sequence[np.ndarray], *, strategy: str | None = None,
                      dilate: int | None = None, texture: str | float | None = None) -> list[np.ndarray]:
        """:meth:`inpaint` for several pictures; equal sizes run together in one batch.

        rgbs, masks, strategy, dilate, texture: as for :meth:`inpaint`, same length. Returns the results in input order.
        """
        options = self._options(strategy, dilate, texture)
        if len(rgbs) != len(masks):
            raise UserError(f"inpaint_batch: {len(rgbs)} images but {len(masks)} masks; give one mask per image")
        pairs = [_check_pair(r, m, i) for i, (r, m) in enumerate(zip(rgbs, masks))]
        by_size: dict[tuple[int, ...], list[int]] = {}
        for i, (rgb, _) in enumerate(pairs):
            by_size.setdefault(rgb.shape, []).append(i)
        results: list[np.ndarray | None] = [None] * len(pairs)
        for indices in by_size.values():
            outs = inpaint_arrays(self.runner, [pairs[i][0] for i in indices], [pairs[i][1] for i in indices], **options)
            for i, out in zip(indices, outs):
                results[i] = out
        return results  # type: ignore[return-value]

    def close(self) -> None:
        """Free the model (the backend's session or tensors)."""
        self.runner.deactivate()

    def __enter__(self) -> Inpainter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        info = self.runner.metadata
        preset = info.preset if info else "?"
        return f"Inpainter({str(self.runner.path)!r}, engine={self.engine!r}, preset={preset!r}, device={self.runner.device!r})"
