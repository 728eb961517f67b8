"""Where a clip's hole masks come from: one image, a folder of per-frame images, or a mask video.

Masks are drawn as the clip is displayed (a phone clip stored landscape with a 90 degree display
rotation takes a portrait mask), white / non-zero = remove, like the photo masks. Each source gives
``hole(index)``: (H, W) bool in the clip's STORED orientation and size, True = hole.

- **One image** (png, jpg, ...): the same hole for every frame.
- **A folder of images**, one per frame, matched by the frame number in the file name: the last run of
  digits in the stem (``00000.png``, ``frame_0001.png``, ``mask-17.png``). Numbers count from the
  smallest one in the folder, which is the clip's first frame (SAM 2 and XMem write 00000.png first,
  ``ffmpeg -i clip.mp4 %05d.png`` writes 00001.png first: both work). They must be consecutive;
  a gap or two files with one number is an error that names them.
- **A mask video** (any clip suffix), read frame by frame in step with the clip: a pixel is a hole when
  its grey level is above :data:`VIDEO_MASK_THRESHOLD`, so the noise that lossy coding adds to a
  black and white mask does not become holes.

A folder or a mask video with fewer masks than the clip has frames is an error before anything is
written, unless ``hold_last``: then the last mask stays for the remaining frames. A mask of another
size and the same (displayed) aspect ratio is resized with nearest neighbour and a warning (once per clip), as
for photos; another aspect ratio is an error naming both sizes. A mask image that looks like a photo or covers
nearly every pixel is refused unless ``force`` (:mod:`inpaint.runtime.mask_checks`).
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from pathlib import Path

import cv2
import numpy as np

from inpaint.errors import UserError
from inpaint.runtime.io import SUPPORTED_EXTENSIONS, read_mask
from inpaint.runtime.mask_checks import fit_to
from inpaint.runtime.video.decoder import ClipInfo, open_container
from inpaint.runtime.video.formats import is_clip

__all__ = ["MaskSource", "open_masks", "frame_number", "count_video_packets", "VIDEO_MASK_THRESHOLD"]

_log = logging.getLogger(__name__)

#: grey level (of 255) above which a mask video's pixel is a hole: an eighth of full scale, far above
#: the few levels by which H.264 / VP9 at usual qualities move black, far below white
VIDEO_MASK_THRESHOLD = 32

_DIGITS = re.compile(r"(\d+)(?!.*\d)")


def frame_number(path: Path) -> int | None:
    """The last run of digits in the file stem ("frame_0012" -> 12), or None."""
    m = _DIGITS.search(path.stem)
    return int(m.group(1)) if m else None


def _to_stored(hole: np.ndarray, info: ClipInfo, name: str, warned: list[bool]) -> np.ndarray:
    """A display-orientation hole -> the clip's stored orientation and size: a mask of the displayed aspect
    ratio and another size is resized with a warning (once per clip); another aspect ratio (e.g. drawn on the
    stored, unrotated frames of a phone clip) is a UserError naming both sizes."""
    h, w = info.display_size
    if hole.shape != (h, w):
        shown = " displayed at" if info.rotation else ""
        hole = fit_to(hole, (h, w), name, info.path.name, shown, warn=not warned[0])
        warned[0] = True
    if info.rotation:
        hole = np.rot90(hole, -(info.rotation // 90))  # undo the player's counter-clockwise turn
    return np.ascontiguousarray(hole)


class MaskSource(ABC):
    """Holes for the frames of one clip, in order. ``count``: masks available (None = unlimited)."""

    count: int | None = None

    @abstractmethod
    def hole(self, index: int) -> np.ndarray:
        """(H, W) bool, stored orientation, True = hole, for frame ``index`` (0-based, called in order)."""

    def close(self) -> None:
        pass


class StaticMask(MaskSource):
    def __init__(self, path: Path, info: ClipInfo, force: bool = False):
        self.path = path
        self._hole = _to_stored(read_mask(path, picture=info.path.name, force=force), info, str(path), [False])
        self._hole.setflags(write=False)

    def hole(self, index: int) -> np.ndarray:
        return self._hole


class _Limited(MaskSource):
    """Shared by the folder and the video: running out raises, or holds the last mask."""

    def __init__(self, name: str, info: ClipInfo, hold_last: bool):
        self.name, self.info, self.hold_last = name, info, hold_last
        self._warned = [False]
        self._last: np.ndarray | None = None

    def _ran_out(self, index: int) -> np.ndarray:
        if self.hold_last and self._last is not None:
            return self._last
        raise UserError(
            f"{self.name}: {self.count} masks but the clip {self.info.path.name} has more frames (frame {index} has "
            "none); give one mask per frame or pass --mask-hold-last to keep the last mask"
        )


class MaskFolder(_Limited):
    def __init__(self, folder: Path, info: ClipInfo, hold_last: bool, force: bool = False):
        super().__init__(str(folder), info, hold_last)
        self.force = force
        numbered: dict[int, list[Path]] = {}
        for p in sorted(folder.iterdir()):
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in SUPPORTED_EXTENSIONS:
                n = frame_number(p)
                if n is not None:
                    numbered.setdefault(n, []).append(p)
        if not numbered:
            raise UserError(f"{folder}: no numbered mask images (e.g. 00000.png) in this folder")
        first = min(numbered)
        for n in range(first, max(numbered) + 1):
            if n not in numbered:
                raise UserError(f"{folder}: masks {first}..{max(numbered)} are missing number {n}; give one mask per frame")
            if len(numbered[n]) > 1:
                names = ", ".join(p.name for p in numbered[n])
                raise UserError(f"{folder}: several masks with frame number {n} ({names}); keep one")
        self.files = [numbered[n][0] for n in range(first, max(numbered) + 1)]
        self.count = len(self.files)

    def hole(self, index: int) -> np.ndarray:
        if index >= len(self.files):
            return self._ran_out(index)
        mask = read_mask(self.files[index], picture=f"frame {index} of {self.info.path.name}", force=self.force)
        self._last = _to_stored(mask, self.info, str(self.files[index]), self._warned)
        return self._last


class MaskVideo(_Limited):
    def __init__(self, path: Path, info: ClipInfo, hold_last: bool):
        super().__init__(str(path), info, hold_last)
        self.count = count_video_packets(path, "mask video")
        self._container = open_container(path, "mask video")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        self._frames = self._container.decode(stream)
        self._next = 0

    def hole(self, index: int) -> np.ndarray:
        if index != self._next:
            raise ValueError(f"mask video frames are read in order: expected {self._next}, got {index}")
        self._next += 1
        frame = next(self._frames, None)
        if frame is None:
            return self._ran_out(index)
        grey = frame.to_ndarray(format="gray")
        rotation = int(round((getattr(frame, "rotation", 0) or 0) / 90.0)) % 4
        if rotation:  # the mask video's own display rotation: as a player would show it
            grey = np.rot90(grey, rotation)
        self._last = _to_stored(grey > VIDEO_MASK_THRESHOLD, self.info, self.name, self._warned)
        return self._last

    def close(self) -> None:
        self._container.close()


def count_video_packets(path: Path, what: str = "clip") -> int:
    """Video packets with data (demuxing only, no decoding: fast); one packet is one decoded frame, also for
    AVIs with packed B-frames (their placeholder packets decode the held frame). Headers can lie; this cannot."""
    container = open_container(path, what)
    try:
        if not container.streams.video:
            raise UserError(f"{path}: the {what} has no video stream")
        return sum(1 for p in container.demux(container.streams.video[0]) if p.size)
    finally:
        container.close()


def open_masks(path: Path, info: ClipInfo, hold_last: bool = False, force: bool = False) -> MaskSource:
    """The mask source for ``path`` (image file, folder or clip) and a clip with ``info``.

    force: use mask images that look swapped with the clip (:func:`inpaint.runtime.mask_checks.check_plausible`).
    When the number of masks is known and smaller than the clip's frames (counted by demuxing, since a
    header's count can lie), and not ``hold_last``, raises UserError before anything runs; running out
    while decoding is an error too.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such mask file or folder")
    if path.is_dir():
        source: MaskSource = MaskFolder(path, info, hold_last, force)
    elif is_clip(path):
        source = MaskVideo(path, info, hold_last)
    else:
        source = StaticMask(path, info, force)
    if source.count is not None and not hold_last:
        frames = count_video_packets(info.path)
        if source.count < frames:
            source.close()
            raise UserError(
                f"{path}: {source.count} masks but {info.path.name} has {frames} frames; give one mask per "
                "frame or pass --mask-hold-last to keep the last mask"
            )
    return source
