"""The ``resize`` strategy: the whole photo shrunk to the working size (long side = ``train_size``), run once,
enlarged back, and only the hole pixels pasted: one window that is the whole photo (:func:`.windows.whole_photo`),
run by :func:`.crop.inpaint_windows`, so the enlarging happens band by band as for any window.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inpaint.runtime.backends.base import Runner
from inpaint.runtime.strategies.crop import inpaint_windows
from inpaint.runtime.strategies.resample import UPSAMPLE
from inpaint.runtime.strategies.windows import whole_photo

__all__ = ["inpaint_resize"]


def inpaint_resize(runner: Runner, rgbs: Sequence[np.ndarray], holes: Sequence[np.ndarray],
                   *, interpolation: int = UPSAMPLE, texture: float = 0.0) -> list[np.ndarray]:
    """rgbs (H, W, 3) uint8/uint16, holes (H, W) bool True = hole -> results, known pixels bit-identical.
    texture: strength of the texture stage (as for :func:`.crop.inpaint_windows`), 0 = off."""
    return inpaint_windows(runner, rgbs, holes, [whole_photo(h) for h in holes], interpolation=interpolation,
                           texture=texture)
