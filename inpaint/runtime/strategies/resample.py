"""Resampling between a photo's window and the network's working size, without full-size float copies.

    small = shrink(pixels_roi, (th, tw))              # uint8 / uint16 window -> float32 (th, tw, 3) in [0, 1]
    small_hole = shrink_hole(hole_roi, (th, tw))      # bool, True where any source pixel is a hole
    band = enlarge_region(result, (h, w), rows, cols) # float32 rows x cols of the result enlarged to (h, w)

Down: ``cv2.INTER_AREA`` (pixel-area averaging, OpenCV's recommendation for decimation: no aliasing)
on the stored integers, so a window of any size is never held as floats at full resolution. Up:
:data:`UPSAMPLE` on float32, computed band by band with ``cv2.warpAffine`` (the same sample positions as
``cv2.resize``: ``src = (dst + 0.5) * scale - 0.5``, edges replicated), so enlarging back to a window
of the whole photo costs one band of floats, not the photo.
"""

from __future__ import annotations

import cv2
import numpy as np

from inpaint.runtime.processing import to_float

__all__ = ["UPSAMPLE", "shrink", "shrink_hole", "enlarge_region", "BAND_ROWS"]

#: interpolation that brings the network's output back up to the window's size (chosen by the PSNR
#: table in the README's large-photo section: bicubic and bilinear measured on the same windows)
UPSAMPLE = cv2.INTER_CUBIC
#: rows per band when enlarging (a band of a 8000 px wide window: 256 x 8000 x 3 float32 = 24 MB)
BAND_ROWS = 256


def shrink(pixels: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """pixels (h, w, 3) uint8/uint16 (a view into the photo is fine) -> (th, tw, 3) float32 in [0, 1]."""
    th, tw = hw
    if pixels.shape[:2] != (th, tw):
        pixels = cv2.resize(pixels, (tw, th), interpolation=cv2.INTER_AREA)
    return to_float(pixels)


def shrink_hole(hole: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """hole (h, w) bool -> (th, tw) bool: True where any pixel under the target pixel is a hole.

    Area averaging of 0 / 65535 keeps every partly covered pixel non-zero for shrink factors below
    362 (65535 / 362 ** 2 > 0.5 rounds up), far beyond any photo.
    """
    th, tw = hw
    if hole.shape == (th, tw):
        return hole.copy()
    levels = np.multiply(hole, np.uint16(65535), dtype=np.uint16)
    return cv2.resize(levels, (tw, th), interpolation=cv2.INTER_AREA) > 0


def enlarge_region(small: np.ndarray, hw: tuple[int, int], rows: tuple[int, int], cols: tuple[int, int],
                   interpolation: int = UPSAMPLE) -> np.ndarray:
    """Rows ``rows[0]:rows[1]``, columns ``cols[0]:cols[1]`` of ``cv2.resize(small, hw)``.

    small: (th, tw, 3) float32. hw: (h, w) the full enlarged size. Returns (r1 - r0, c1 - c0, 3) float32.
    """
    th, tw = small.shape[:2]
    h, w = hw
    (r0, r1), (c0, c1) = rows, cols
    sy, sx = th / h, tw / w
    matrix = np.array([[sx, 0.0, (c0 + 0.5) * sx - 0.5], [0.0, sy, (r0 + 0.5) * sy - 0.5]])
    return cv2.warpAffine(small, matrix, (c1 - c0, r1 - r0), flags=interpolation | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
