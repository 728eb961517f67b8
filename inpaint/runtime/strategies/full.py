"""The ``full`` strategy: the network at the photo's native resolution, padded to the stride.

    check_full(runner, n, (h, w))          # UserError naming --strategy crop when it cannot fit
    results = inpaint_full(runner, rgbs, holes)

Working memory grows with the pixels (:mod:`.memory`): before anything runs, the estimate for one
picture is compared with the memory available, and a photo that cannot fit is refused at once instead
of the system killing the process half-way. Several pictures run in batches as large as fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from inpaint.errors import UserError
from inpaint.runtime.backends.base import Runner
from inpaint.runtime.processing import composite, crop, from_nchw, masks_to_nchw, pad_to_multiple, to_nchw
from inpaint.runtime.strategies.memory import MEMORY_ENV, available_mb, working_mb
from inpaint.runtime.texture.stage import texture_fill
from inpaint.runtime.processing import to_float

__all__ = ["full_estimate_mb", "fits_full", "check_full", "inpaint_full", "submit_full"]

#: bytes of float32 copies per padded pixel around the network call: image (3) and mask (1) inputs,
#: the output (3) and the cropped result (3), 4 bytes each
_COPIES_BYTES_PER_PIXEL = 4 * (3 + 1 + 3 + 3)


def _padded_pixels(runner: Runner, hw: tuple[int, int]) -> int:
    s = runner.stride
    return (-(-hw[0] // s) * s) * (-(-hw[1] // s) * s)


def full_estimate_mb(runner: Runner, hw: tuple[int, int], n: int = 1) -> float:
    """MB that ``n`` pictures of size ``hw`` need at full resolution: the network's working memory plus
    the float copies of inputs and outputs."""
    pixels = n * _padded_pixels(runner, hw)
    return working_mb(runner.metadata, runner.name, pixels) + pixels * _COPIES_BYTES_PER_PIXEL / (1 << 20)


def fits_full(runner: Runner, hw: tuple[int, int], n: int = 1, available: float | None = None) -> bool:
    """Whether ``n`` pictures of size ``hw`` fit in ``available`` MB (default :func:`.memory.available_mb`)."""
    have = available_mb() if available is None else available
    return have is None or full_estimate_mb(runner, hw, n) <= have


def check_full(runner: Runner, hw: tuple[int, int], available: float | None = None) -> None:
    """Raise UserError when one picture of size ``hw`` cannot run at full resolution."""
    have = available_mb() if available is None else available
    need = full_estimate_mb(runner, hw)
    if have is not None and need > have:
        info = runner.metadata
        raise UserError(
            f"--strategy full on this {hw[1]}x{hw[0]} photo needs about {need / 1024:.1f} GB ({runner.name}, "
            f"{info.preset if info else 'model'}) but {have / 1024:.1f} GB is available "
            f"(MemAvailable / {MEMORY_ENV}); use --strategy crop (or auto) to run only around the holes"
        )


def inpaint_full(runner: Runner, rgbs: Sequence[np.ndarray], holes: Sequence[np.ndarray],
                 available: float | None = None, texture: float = 0.0) -> list[np.ndarray]:
    """rgbs: equal-size (H, W, 3) uint8/uint16 RGB; holes: (H, W) bool, True = hole.

    texture: strength of the texture stage (:mod:`inpaint.runtime.texture`), 0 = the network's fill alone.
    Refuses (UserError) when one picture does not fit; otherwise runs batches as large as fit.
    Returns one (H, W, 3) array per picture; known pixels bit-identical to the input.
    """
    return submit_full(runner, rgbs, holes, available, texture)()


def submit_full(runner: Runner, rgbs: Sequence[np.ndarray], holes: Sequence[np.ndarray],
                available: float | None = None, texture: float = 0.0) -> Callable[[], list[np.ndarray]]:
    """:func:`inpaint_full` in two halves: check, pad and submit (``runner.infer_async``) now; the returned
    function waits, crops and composites. When the pictures must be split into several batches to fit,
    all but the last run here, synchronously. Raises the UserError of :func:`check_full` at once."""
    hw = rgbs[0].shape[:2]
    have = available_mb() if available is None else available
    check_full(runner, hw, have)
    per_batch = len(rgbs)
    while per_batch > 1 and not fits_full(runner, hw, per_batch, have):
        per_batch -= 1
    done: list[np.ndarray] = []
    starts = list(range(0, len(rgbs), per_batch))
    for start in starts:
        chunk_rgbs, chunk_holes = rgbs[start : start + per_batch], holes[start : start + per_batch]
        image, size = pad_to_multiple(to_nchw(chunk_rgbs), runner.stride)
        mask, _ = pad_to_multiple(masks_to_nchw(chunk_holes), runner.stride)
        pending = runner.infer_async(image, mask)
        del image, mask

        def finish(pending=pending, size=size, chunk_rgbs=chunk_rgbs, chunk_holes=chunk_holes) -> list[np.ndarray]:
            generated = from_nchw(crop(pending.result(), size))
            if texture:
                generated = [texture_fill(to_float(rgb), hole, gen, strength=texture)[0]
                             for rgb, gen, hole in zip(chunk_rgbs, generated, chunk_holes)]
            return [composite(rgb, gen, hole) for rgb, gen, hole in zip(chunk_rgbs, generated, chunk_holes)]

        if start != starts[-1]:
            done += finish()
    return lambda: done + finish()
