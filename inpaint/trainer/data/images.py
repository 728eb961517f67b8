"""Training photos: a recursive image folder and the random crops the trainer sees.

Everything here is numpy + OpenCV; randomness comes only from the ``numpy.random.Generator``
passed in, never from global state, so a crop is a pure function of (photo, generator state).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from inpaint.errors import UserError

log = logging.getLogger("inpaint.trainer.data")

#: file extensions that are scanned (compared lower-case)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")

#: threads used to validate a folder at construction (OpenCV decoders release the GIL)
SCAN_THREADS = 8


def scan_files(root: Path, hint: str = "point --data at a folder of photos") -> list[Path]:
    """Every file under ``root`` (recursively) with an :data:`IMAGE_EXTENSIONS` suffix.

    Sorted by the path relative to ``root`` (as POSIX text), so the order, and with it every
    index the sampler hands out, is the same on every machine. Raises UserError, ending with
    ``hint``, when ``root`` is not a folder.
    """
    if not root.is_dir():
        what = "no such folder" if not root.exists() else "not a folder"
        raise UserError(f"{root}: {what}; {hint}")
    files = [p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def decode_file(path: Path, flags: int) -> np.ndarray | None:
    """``cv2.imdecode`` of the file's bytes, or None when it cannot be read or decoded.

    Reading the bytes with numpy (instead of ``cv2.imread``) also works for non-ASCII paths.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)
        return cv2.imdecode(data, flags) if data.size else None
    except (OSError, cv2.error):
        return None


def read_rgb(path: Path) -> np.ndarray | None:
    """Decode one photo as ``(H, W, 3) uint8 RGB``, or None when it cannot be decoded.

    Grey images are replicated to three channels, an alpha channel is dropped (the colour
    under transparent pixels is kept as stored), 16-bit images are scaled to 8 bits
    (``round(v / 257)``, 65535 -> 255), and the EXIF orientation of JPEGs is applied
    (``IMREAD_COLOR`` does that).
    """
    img = decode_file(path, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)  # BGR, uint8 or uint16
    if img is None or img.ndim != 3 or img.shape[2] != 3:
        return None
    if img.dtype == np.uint16:
        img = np.round(img / 257.0).astype(np.uint8)
    elif img.dtype != np.uint8:
        return None
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


class ImageFolder:
    """The photos under ``root``, recursively (jpg/jpeg/png/webp/bmp, any letter case).

    At construction every file is decoded once to check it (the folders are small enough);
    files that cannot be decoded, or whose short side is below ``min_size`` pixels, are
    skipped with one logging warning each that names the file. Pixels are decoded again,
    lazily, by :meth:`load`.

    Attributes:
        root: the folder.
        paths: the usable files, in a stable sorted order (index ``i`` of :meth:`load`).
        sizes: ``(height, width)`` of each usable file, in pixels.
    """

    def __init__(self, root: str | Path, *, min_size: int) -> None:
        self.root = Path(root)
        self.min_size = int(min_size)
        candidates = scan_files(self.root)
        with ThreadPoolExecutor(SCAN_THREADS) as pool:
            shapes = list(pool.map(_image_shape, candidates))
        self.paths: list[Path] = []
        self.sizes: list[tuple[int, int]] = []
        for path, shape in zip(candidates, shapes):
            if shape is None:
                log.warning("skipping %s: cannot be decoded as an image (corrupt or not an image)", path)
            elif min(shape) < self.min_size:
                log.warning("skipping %s: %dx%d is smaller than %dx%d", path, shape[1], shape[0],
                            self.min_size, self.min_size)
            else:
                self.paths.append(path)
                self.sizes.append(shape)
        if not self.paths:
            n = self.min_size
            raise UserError(f"{self.root}: no usable images (jpg/png/webp/bmp of at least {n}x{n}); "
                            "point --data at a folder of photos")

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, i: int) -> np.ndarray:
        """Photo ``i`` as ``(H, W, 3) uint8 RGB`` (see :func:`read_rgb` for the conversions)."""
        img = read_rgb(self.paths[i])
        if img is None:
            raise UserError(f"{self.paths[i]}: can no longer be decoded (was it changed or deleted "
                            "after training started?); restore it or remove it from the folder")
        return img


def _image_shape(path: Path) -> tuple[int, int] | None:
    img = read_rgb(path)
    return None if img is None else (int(img.shape[0]), int(img.shape[1]))


def resize_short_side(img: np.ndarray, short: int) -> np.ndarray:
    """Resize ``img`` (``(H, W, C)`` or ``(H, W)``, any dtype OpenCV resizes) so that its
    short side is ``short`` pixels, keeping the aspect ratio (the long side is rounded).

    ``INTER_AREA`` when shrinking (no aliasing), ``INTER_CUBIC`` when enlarging; the image is
    returned unchanged when it already has that short side.
    """
    h, w = img.shape[:2]
    if min(h, w) == short:
        return img
    scale = short / min(h, w)
    if h <= w:
        new_h, new_w = short, max(short, round(w * scale))
    else:
        new_h, new_w = max(short, round(h * scale)), short
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(img, (new_w, new_h), interpolation=interpolation)


def random_crop(img: np.ndarray, size: int, rng: np.random.Generator,
                scale_range: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """A random ``size x size`` crop of ``img``, flipped left-right with probability 1/2.

    Args:
        img: ``(H, W, 3) uint8 RGB`` photo.
        size: side of the crop in pixels.
        rng: the only source of randomness (draws, in this order: scale, top, left, flip).
        scale_range: ``(lo, hi)`` with ``0 <= lo <= hi <= 1``: how far the photo keeps its
            native resolution. A number ``t ~ U(lo, hi)`` is drawn and the photo is resized
            so that its short side becomes ``size + t * (short - size)``: ``t = 1`` keeps
            the native resolution (the crop sees a ``size``-pixel window of it), ``t = 0``
            shrinks the short side to ``size`` (the crop sees the whole short side). The
            default ``(1, 1)`` never resizes; ``(0, 1)`` gives multi-scale crops.
            Photos whose short side is below ``size`` are always enlarged to ``size`` first.

    Returns:
        ``(size, size, 3) uint8 RGB``, C-contiguous.
    """
    lo, hi = scale_range
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(f"scale_range must satisfy 0 <= lo <= hi <= 1, got {scale_range}")
    short = max(min(img.shape[:2]), size)
    t = rng.uniform(lo, hi)
    img = resize_short_side(img, round(size + t * (short - size)))
    h, w = img.shape[:2]
    top = int(rng.integers(0, h - size + 1))
    left = int(rng.integers(0, w - size + 1))
    crop = img[top:top + size, left:left + size]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return np.ascontiguousarray(crop)


def center_crop(img: np.ndarray, size: int) -> np.ndarray:
    """Resize the short side of ``img`` (``(H, W, 3) uint8``) to ``size`` and cut the centre
    ``size x size`` square: ``(size, size, 3) uint8``, C-contiguous."""
    img = resize_short_side(img, size)
    h, w = img.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(img[top:top + size, left:left + size])
