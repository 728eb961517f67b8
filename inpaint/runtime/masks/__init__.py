"""Object masks without drawing every frame: ``inpaint mask`` (OpenCV only, no model weights).

Modules: ``segment`` (GrabCut from a box or a rough brush), ``appearance`` (colour models in GrabCut's
layout), ``track`` (:class:`MaskTracker`: one object through frames), ``clip`` (:func:`mask_clip`: a clip's
masks from a key frame, bounded memory), ``photo`` (:func:`mask_photo`), ``output`` (PNGs and folders
written atomically). Masks: (H, W) bool, True = the object = remove; files are 8-bit PNGs, 255 = remove.
"""

from __future__ import annotations

from inpaint._lazy import lazy_attributes

__all__ = ["from_box", "from_scribble", "MaskTracker", "Key", "mask_clip", "mask_photo", "DEFAULT_DILATE"]

#: px every written mask is grown by unless --dilate says otherwise: covers the 1-2 px soft rim of a
#: photographed edge and the tracker's edge error (benchmarks/masks.py: recall with and without it)
DEFAULT_DILATE = 3

_WHERE = {
    "from_box": "inpaint.runtime.masks.segment",
    "from_scribble": "inpaint.runtime.masks.segment",
    "MaskTracker": "inpaint.runtime.masks.track",
    "Key": "inpaint.runtime.masks.clip",
    "mask_clip": "inpaint.runtime.masks.clip",
    "mask_photo": "inpaint.runtime.masks.photo",
}

__getattr__ = lazy_attributes(__name__, _WHERE)
