"""Pre- and post-processing around a model run: dtype scaling, batching, padding, cropping, compositing.

NumPy (and OpenCV's max filter in :func:`dilate_mask`), no file I/O, no torch. Conventions used throughout:

- stored pixels: ``(H, W, 3)`` uint8 in [0, 255] or uint16 in [0, 65535], RGB;
- model tensors: ``(N, C, H, W)`` float32, images in [0, 1], masks ``(N, 1, H, W)`` float32 with 1 = hole;
- ``hole``: ``(H, W)`` bool, True = hole (the region to remove; white / non-zero in a mask file).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = [
    "to_float",
    "from_float",
    "pad_to_multiple",
    "reflect_indices",
    "crop",
    "to_nchw",
    "masks_to_nchw",
    "from_nchw",
    "composite",
    "dilate_mask",
]

#: largest value of each supported stored dtype (the value that maps to 1.0)
_MAX_VALUE = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}


def _max_value(dtype: np.dtype | type) -> int:
    dtype = np.dtype(dtype)
    if dtype not in _MAX_VALUE:
        raise TypeError(f"expected uint8 or uint16 pixels, got {dtype}")
    return _MAX_VALUE[dtype]


def to_float(pixels: np.ndarray) -> np.ndarray:
    """Stored pixels -> float32 in [0, 1].

    pixels: (..., ) uint8 (divided by 255) or uint16 (divided by 65535), any shape, e.g. (H, W, 3).
    Returns the same shape, float32 in [0, 1].
    """
    return pixels.astype(np.float32) / np.float32(_max_value(pixels.dtype))


def from_float(x: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    """float in [0, 1] -> stored pixels: multiply by 255 / 65535, round half to even, clip.

    x: any shape, float; values outside [0, 1] are clipped and NaN becomes 0.
    Returns the same shape with dtype uint8 or uint16.
    """
    top = _max_value(dtype)
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    scaled = x * x.dtype.type(top)  # float32 holds every integer up to 2 ** 24, enough for 65535
    np.nan_to_num(scaled, copy=False, nan=0.0)
    np.clip(scaled, 0, top, out=scaled)
    return np.rint(scaled, out=scaled).astype(dtype)


def reflect_indices(size: int, total: int) -> np.ndarray:
    """Source indices that extend an axis of length ``size`` to ``total`` by reflection.

    Reflection without repeating the edge sample (numpy ``'reflect'``, OpenCV ``BORDER_REFLECT_101``):
    a b c d -> a b c d c b a b c ... It is periodic with period 2 * (size - 1), so a pad longer than
    the axis keeps reflecting back and forth (what ``np.pad(mode='reflect')`` does by repeated
    reflection; older numpy and ``torch.nn.functional.pad`` refuse a pad >= size). An axis of length 1
    has nothing to reflect and is repeated (edge padding).

    Returns (total,) int64 with values in [0, size).
    """
    if size < 1 or total < size:
        raise ValueError(f"cannot extend an axis of length {size} to {total}")
    i = np.arange(total, dtype=np.int64)
    if size == 1:
        return np.zeros(total, dtype=np.int64)
    period = 2 * (size - 1)
    i = i % period
    return np.where(i < size, i, period - i)


def pad_to_multiple(x: np.ndarray, multiple: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Pad the bottom and right of ``x`` by reflection so that H and W are multiples of ``multiple``.

    x: (N, C, H, W) any dtype (images float32 in [0, 1]; masks float32 with 1 = hole are padded the
    same way, so that a hole touching the border is mirrored like the pixels around it).
    multiple: the model's size multiple, e.g. 128 for MADF (2 ** 7 levels of stride 2), >= 1.
    Returns (padded (N, C, H', W'), (H, W)) where H' = ceil(H / multiple) * multiple (same for W);
    pass (H, W) to :func:`crop` to undo. See :func:`reflect_indices` for pads larger than the image.
    """
    if x.ndim != 4:
        raise ValueError(f"expected (N, C, H, W), got shape {x.shape}")
    if int(multiple) != multiple or multiple < 1:
        raise ValueError(f"multiple must be a positive integer, got {multiple}")
    h, w = x.shape[-2:]
    if h == 0 or w == 0:
        raise ValueError(f"cannot pad an empty image of shape {x.shape}")
    ph, pw = -(-h // multiple) * multiple, -(-w // multiple) * multiple
    if (ph, pw) != (h, w):
        x = np.take(x, reflect_indices(h, ph), axis=-2)
        x = np.take(x, reflect_indices(w, pw), axis=-1)
    return x, (h, w)


def crop(x: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Undo :func:`pad_to_multiple`: x (..., H', W') -> (..., H, W), the top-left H x W."""
    h, w = hw
    if x.shape[-2] < h or x.shape[-1] < w:
        raise ValueError(f"cannot crop shape {x.shape} to {h}x{w}")
    return x[..., :h, :w]


def _rgb_of(picture: object) -> np.ndarray:
    """An (H, W, 3) array, or the ``.rgb`` of a :class:`inpaint.runtime.io.Picture`."""
    return np.asarray(getattr(picture, "rgb", picture))


def to_nchw(pictures: Sequence[object]) -> np.ndarray:
    """Stack equal-size pictures into a model batch.

    pictures: each an (H, W, 3) uint8/uint16 RGB array or a ``Picture`` (its ``rgb`` is used).
    Returns (N, 3, H, W) float32 in [0, 1].
    """
    arrays = [_rgb_of(p) for p in pictures]
    if not arrays:
        raise ValueError("no pictures to batch")
    shape = arrays[0].shape
    for a in arrays:
        if a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(f"expected (H, W, 3) pictures, got shape {a.shape}")
        if a.shape != shape:
            raise ValueError(f"pictures in one batch must have one size, got {shape} and {a.shape}")
    return np.ascontiguousarray(np.stack([to_float(a) for a in arrays]).transpose(0, 3, 1, 2))


def masks_to_nchw(holes: Sequence[np.ndarray]) -> np.ndarray:
    """Stack equal-size hole masks into a model batch.

    holes: each (H, W) bool (or anything where non-zero = hole).
    Returns (N, 1, H, W) float32, 1 = hole, 0 = known.
    """
    arrays = [np.asarray(m) for m in holes]
    if not arrays:
        raise ValueError("no masks to batch")
    shape = arrays[0].shape
    for m in arrays:
        if m.ndim != 2 or m.shape != shape:
            raise ValueError(f"masks in one batch must be (H, W) of one size, got {shape} and {m.shape}")
    return np.stack([m != 0 for m in arrays])[:, None].astype(np.float32)


def from_nchw(x: np.ndarray) -> np.ndarray:
    """Model output (N, C, H, W) -> (N, H, W, C), same dtype (float32 in [0, 1] for images)."""
    if x.ndim != 4:
        raise ValueError(f"expected (N, C, H, W), got shape {x.shape}")
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def composite(original: np.ndarray, generated: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Put generated pixels into the hole, keep every known pixel exactly as it was.

    original: (..., H, W, 3) uint8 or uint16, the stored input pixels.
    generated: (..., H, W, 3) float in [0, 1], the model's output (already cropped).
    hole: (..., H, W) bool, True = hole.
    Returns (..., H, W, 3) with the dtype of ``original``: known pixels are copied bit-identically,
    hole pixels are ``from_float(generated, original.dtype)``.
    """
    hole = np.asarray(hole, dtype=bool)
    if generated.shape != original.shape or original.shape[:-1] != hole.shape:
        raise ValueError(
            f"composite needs equal sizes: original {original.shape}, generated {generated.shape}, hole {hole.shape}"
        )
    return np.where(hole[..., None], from_float(generated, original.dtype), original)


def dilate_mask(hole: np.ndarray, pixels: int = 0) -> np.ndarray:
    """Grow the hole by ``pixels`` in every direction (a square of side 2 * pixels + 1).

    hole: (..., H, W) bool, True = hole; leading axes (a batch) are dilated independently.
    pixels: >= 0; 0 returns a copy. Useful when a mask drawn by hand misses the object's rim.
    Returns (..., H, W) bool.
    """
    if pixels < 0:
        raise ValueError(f"pixels must be >= 0, got {pixels}")
    hole = np.asarray(hole, dtype=bool)
    if pixels == 0:
        return hole.copy()
    import cv2  # OpenCV's separable max filter: one uint8 temporary, no per-shift copies

    kernel = np.ones((2 * pixels + 1, 2 * pixels + 1), np.uint8)
    flat = hole.reshape(-1, *hole.shape[-2:])
    out = np.empty(flat.shape, bool)
    for k in range(flat.shape[0]):  # pixels outside the image count as known (the default border of dilate)
        out[k] = cv2.dilate(np.ascontiguousarray(flat[k]).view(np.uint8), kernel).view(bool)
    return out.reshape(hole.shape)
