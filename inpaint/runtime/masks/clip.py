"""Masks for every frame of a clip from one key frame: decode, track forward and backward, write.

    result = mask_clip("clip.mp4", key, frame=K, output="masks/", dilate=3)

``key`` says where the object is on frame K (:class:`Key`: a mask, a box or a rough brush, all in the
displayed orientation). Frames are decoded with the project's decoder and turned as a player shows them
(the display matrix), so masks are drawn and written as the clip is seen, as ``inpaint run`` reads them.

Memory is bounded, not the clip: tracking runs at a working size (:data:`WORK_SIDE` px on the long side at
most) and holds at most :data:`CHUNK_BYTES` of working-size frames. Pass 1 decodes from the start, keeps the
last chunk before K, tracks forward from K to the end; pass 2 tracks backward from K, chunk by chunk,
decoding the clip again from the start for each earlier chunk (decoding is cheap next to tracking). Masks
are written as they come (0.1 MB a frame at most) into a hidden folder that is renamed at the end.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inpaint.errors import UserError
from inpaint.runtime.io import read_mask
from inpaint.runtime.masks.output import MaskFolderWriter, check_folder
from inpaint.runtime.masks.segment import from_box, from_scribble
from inpaint.runtime.masks.track import MaskTracker
from inpaint.runtime.processing import dilate_mask

__all__ = ["Key", "ClipMasks", "mask_clip", "WORK_SIDE", "CHUNK_BYTES", "check_key_mask"]

_log = logging.getLogger(__name__)

#: tracking runs with the frame's long side at most this many px (the speed target's 640x360 runs at its size)
WORK_SIDE = 640
#: working-size frames held for the backward pass at most (a 640x360 frame is 0.7 MB: about 90 frames)
CHUNK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Key:
    """Where the object is on the key frame: exactly one of ``mask`` (a mask file, white = object), ``box``
    (x, y, w, h) or ``scribble`` (a rough brush file, white = object)."""

    mask: Path | None = None
    box: tuple[int, int, int, int] | None = None
    scribble: Path | None = None


@dataclass
class ClipMasks:
    """frames: masks written. empty: frames whose mask is empty (the object gone). seconds: wall time."""

    frames: int
    empty: int
    seconds: float


def check_key_mask(mask: np.ndarray, what: str) -> np.ndarray:
    if not mask.any():
        raise UserError(f"{what}: the key mask is empty (all black); paint the object white on frame K")
    if mask.all():
        raise UserError(f"{what}: the key mask covers the whole frame; paint only the object white")
    return mask


def _read_sized(path: Path, size: tuple[int, int], what: str) -> np.ndarray:
    mask = read_mask(path, size, force=True)  # resized with a warning when drawn at another size; its own checks below
    return check_key_mask(mask, what)


def key_mask(rgb: np.ndarray, key: Key) -> np.ndarray:
    """The object's (H, W) bool mask on the key frame ``rgb`` (displayed orientation). UserError when empty."""
    size = rgb.shape[:2]
    if key.mask is not None:
        return _read_sized(key.mask, size, f"--from {key.mask}")
    if key.box is not None:
        mask = from_box(rgb, key.box)
        what = "--box " + ",".join(map(str, key.box))
    else:
        mask = from_scribble(rgb, _read_sized(key.scribble, size, f"--scribble {key.scribble}"))
        what = f"--scribble {key.scribble}"
    if not mask.any():
        raise UserError(f"{what}: found no object there on the key frame; draw the box / brush over the object")
    return mask


def _displayed(rgb: np.ndarray, rotation: int) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(rgb, rotation // 90)) if rotation else rgb


def _frames(path: Path, rotation: int, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(index, (H, W, 3) uint8 RGB displayed) for frames 0 .. stop - 1 (all when None)."""
    from inpaint.runtime.video.decoder import ClipReader

    with ClipReader(path) as clip:
        for f in clip.frames():
            if stop is not None and f.index >= stop:
                return
            yield f.index, _displayed(f.rgb, rotation)


class _Scaler:
    """Between the displayed size (H, W) and the working size."""

    def __init__(self, size: tuple[int, int]):
        h, w = size
        self.size = size
        s = min(1.0, WORK_SIDE / max(h, w))
        self.work = (max(16, int(round(h * s))), max(16, int(round(w * s))))
        self.same = self.work == (h, w)

    def frame(self, rgb: np.ndarray) -> np.ndarray:
        return rgb if self.same else cv2.resize(rgb, self.work[::-1], interpolation=cv2.INTER_AREA)

    def down(self, mask: np.ndarray) -> np.ndarray:
        if self.same:
            return mask
        small = cv2.resize(mask.astype(np.float32), self.work[::-1], interpolation=cv2.INTER_AREA) >= 0.5
        if not small.any():  # a tiny object: any covered pixel counts
            small = cv2.resize(mask.view(np.uint8), self.work[::-1], interpolation=cv2.INTER_NEAREST) > 0
        return small

    def up(self, mask: np.ndarray) -> np.ndarray:
        if self.same:
            return mask
        return cv2.resize(mask.view(np.uint8) * np.uint8(255), self.size[::-1], interpolation=cv2.INTER_LINEAR) >= 128


def mask_clip(
    path: str | Path,
    key: Key,
    frame: int,
    output: str | Path,
    dilate: int = 0,
    on_start: Callable[[int], None] | None = None,
    on_frame: Callable[[], None] | None = None,
) -> ClipMasks:
    """Write ``output``/00000.png ... (one 8-bit PNG a frame, 255 = the object) for every frame of ``path``.

    key, frame: the object on frame ``frame`` (0-based). dilate: grow each mask by this many px (a square of
    side 2 * dilate + 1, as ``inpaint run --dilate``). UserError, before anything is written, for an unreadable
    clip, a frame past its end, a key mask that is empty or full, a box outside the frame.
    """
    from inpaint.runtime.video.decoder import ClipReader
    from inpaint.runtime.video.masks import count_video_packets

    path, output = Path(path), Path(output)
    start = time.perf_counter()
    check_folder(output)
    with ClipReader(path) as clip:
        info = clip.info
    total = count_video_packets(path)
    if not 0 <= frame < total:
        raise UserError(f"--frame {frame}: {path.name} has {total} frames (0..{total - 1}); give a frame inside it")
    if on_start:
        on_start(total)
    rotation = info.rotation
    scaler = _Scaler(info.display_size)
    chunk = max(8, CHUNK_BYTES // (scaler.work[0] * scaler.work[1] * 3))
    grow = (lambda m: dilate_mask(m, dilate)) if dilate else (lambda m: m)
    before: deque = deque(maxlen=chunk)  # the working-size frames just before K
    empty = 0
    writer = None
    frames = _frames(path, rotation)
    try:
        for index, rgb in frames:
            if index < frame:
                if index >= frame - chunk:
                    before.append((index, scaler.frame(rgb)))
                continue
            if index == frame:
                full = key_mask(rgb, key)
                writer = MaskFolderWriter(output).__enter__()
                writer.write(index, grow(full))
                if on_frame:
                    on_frame()
                key_rgb, key_small = scaler.frame(rgb), scaler.down(full)
                tracker = MaskTracker(key_rgb, key_small)
                continue
            mask = tracker.step(scaler.frame(rgb))
            empty += not mask.any()
            writer.write(index, grow(scaler.up(mask)))
            if on_frame:
                on_frame()
        if writer is None:  # the header counted more packets than frames decoded
            raise UserError(f"--frame {frame}: {path.name} decodes to fewer frames; give a smaller --frame")
        # backward from K: the kept chunk first, then earlier chunks decoded again
        tracker = MaskTracker(key_rgb, key_small)
        end = frame
        held = list(before)
        while end > 0:
            if not held:
                first = max(0, end - chunk)
                held = [(i, scaler.frame(rgb)) for i, rgb in _frames(path, rotation, stop=end) if i >= first]
            for index, small in reversed(held):
                mask = tracker.step(small)
                empty += not mask.any()
                writer.write(index, grow(scaler.up(mask)))
                if on_frame:
                    on_frame()
            end = held[0][0]
            held = []
        count = writer.count
        writer.__exit__(None, None, None)
        writer = None
    except BaseException as exc:
        if writer is not None:
            writer.__exit__(type(exc), exc, exc.__traceback__)
        raise
    finally:
        frames.close()
    return ClipMasks(frames=count, empty=empty, seconds=time.perf_counter() - start)
