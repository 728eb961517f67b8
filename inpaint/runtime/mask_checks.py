"""Checks that catch a wrong mask before it costs anything: arguments swapped, another picture's mask.

    check_plausible(levels, hole, "mask.png", "photo.jpg")     # UserError unless force
    hole = fit_to(hole, (h, w), "mask.png", "photo.jpg")        # same aspect: resized + warning; else UserError

A photo given as its own mask (IMAGE and MASK swapped) has a hole nearly everywhere (every channel of a photo
is non-zero almost everywhere: >= 99.4 % of the pixels of each of the 97 photos in ``shared/data/photos``) and
many grey levels. Masks are black and white: even saved as JPEG at quality 50 or feathered with a Gaussian
of sigma 8 px, >= 89 % of their pixels lie within :data:`CLEAR_LEVEL` of black or white, where those photos
reach at most 71 % (median 13 %). Both are refused with a line naming what was probably swapped; ``--force``
is for the rare real case.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from inpaint.errors import UserError

__all__ = ["CLEAR_LEVEL", "CLEAR_SHARE", "FULL_SHARE", "check_plausible", "fit_to"]

_log = logging.getLogger(__name__)

#: codes (of 255) from black or white within which a pixel counts as "clearly" black or white
CLEAR_LEVEL = 32
#: below this share of clear pixels a mask "looks like a photo" (masks measured >= 0.89, photos <= 0.71)
CLEAR_SHARE = 0.8
#: a hole over at least this share of the picture "covers (nearly) all of it" (a photo as mask: >= 0.994)
FULL_SHARE = 0.98


def check_plausible(levels: np.ndarray, hole: np.ndarray, mask: str, picture: str | None = None) -> None:
    """UserError when the mask looks swapped with its picture.

    levels: (H, W) uint8 / uint16, the mask channel that decided the hole (grey, max of the colours, or alpha).
    hole: (H, W) bool, True = remove. mask / picture: names for the message.
    """
    top = float(np.iinfo(levels.dtype).max)
    near = CLEAR_LEVEL * top / 255
    clear = float(np.count_nonzero((levels <= near) | (levels >= top - near))) / levels.size
    covered = float(np.count_nonzero(hole)) / hole.size
    of = f" of {picture}" if picture else ""
    if clear < CLEAR_SHARE:
        raise UserError(
            f"{mask}: looks like a photo, not a mask (only {clear:.0%} of it is clearly black or white); were IMAGE "
            f"and MASK swapped? A mask is white where to remove, black elsewhere (--force to use it anyway)"
        )
    if covered >= FULL_SHARE:
        raise UserError(
            f"{mask}: the mask covers {covered:.1%}{of}, so nothing is left to fill from; were IMAGE and MASK "
            "swapped, or the mask inverted (white = remove)? (--force to use it anyway)"
        )


def fit_to(hole: np.ndarray, size: tuple[int, int], mask: str, picture: str, shown: str = "",
           warn: bool = True) -> np.ndarray:
    """``hole`` (h, w) bool at the picture's (H, W): unchanged, resized (same aspect, nearest neighbour, with a
    warning naming the picture), or UserError naming both sizes (another aspect ratio).

    The aspect is the same when scaling the mask to the picture's width gives its height within one mask pixel
    (a 1000x667 mask of a 3000x2000 photo is the same aspect; a landscape mask of a portrait picture is not).
    shown: how the picture is shown, for the message (e.g. " displayed" for a rotated clip). warn: log the resize
    (a clip's mask folder says it once).
    """
    h, w = size
    mh, mw = hole.shape
    if (mh, mw) == (h, w):
        return hole
    if abs(mh * w / mw - h) > h / mh + 0.5:
        raise UserError(
            f"{mask}: the mask is {mw}x{mh} but {picture} is{shown} {w}x{h} (width x height), another aspect ratio; "
            "draw the mask on the picture as it is shown"
        )
    if warn:
        _log.warning("%s: the mask is %dx%d but %s is%s %dx%d (width x height); resized the mask with nearest neighbour",
                     mask, mw, mh, picture, shown, w, h)
    return cv2.resize(hole.view(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST_EXACT).astype(bool)
