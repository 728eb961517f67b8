"""A photo's object mask from a box or a rough brush, written as an 8-bit PNG (255 = remove).

The photo is read with :func:`inpaint.runtime.io.read_image`, which turns a JPEG by its EXIF orientation:
boxes and brushes are in the displayed orientation, as ``inpaint run`` reads the mask.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inpaint.errors import UserError
from inpaint.runtime.io import read_image, read_mask
from inpaint.runtime.masks.clip import Key
from inpaint.runtime.masks.output import write_mask
from inpaint.runtime.masks.segment import from_box, from_scribble
from inpaint.runtime.processing import dilate_mask

__all__ = ["mask_photo", "photo_rgb8"]


def photo_rgb8(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB, displayed orientation (a 16-bit photo is brought to 8 bits: GrabCut's input)."""
    rgb = read_image(path).rgb
    if rgb.dtype == np.uint16:
        rgb = ((rgb.astype(np.uint32) + 128) // 257).astype(np.uint8)
    return rgb


def mask_photo(path: str | Path, key: Key, output: str | Path, dilate: int = 0) -> np.ndarray:
    """Segment the object of photo ``path`` from ``key.box`` or ``key.scribble``; write ``output``.

    Returns the written (H, W) bool mask (after ``dilate``). UserError, before anything is written, for an
    unreadable photo or brush, a box outside the photo, an empty or full brush, or no object found.
    """
    path = Path(path)
    if key.mask is not None:
        raise UserError("--from is for clips (a key frame's mask); for a photo give --box X,Y,W,H or --scribble PATH")
    rgb = photo_rgb8(path)
    if key.box is not None:
        mask = from_box(rgb, key.box)
        what = "--box " + ",".join(map(str, key.box))
    else:
        mask = from_scribble(rgb, read_mask(key.scribble, rgb.shape[:2], force=True), what=f"--scribble {key.scribble}")
        what = f"--scribble {key.scribble}"
    if not mask.any():
        raise UserError(f"{what}: found no object in {path.name}; draw the box / brush over the object")
    if dilate:
        mask = dilate_mask(mask, dilate)
    write_mask(Path(output), mask)
    return mask
