"""Write masks: one PNG, or a clip's folder of them (00000.png, 00001.png, ...), never half-written.

Masks are 8-bit single-channel PNGs, 255 = remove (the object), 0 = keep, in the displayed orientation:
what ``inpaint run`` reads (:mod:`inpaint.runtime.video.masks` numbers a folder's masks from its smallest
file number, the clip's first frame).

A folder is written into a hidden temporary sibling (``.NAME.tmp-PID``) and renamed onto ``NAME`` when the
last mask is in: a stopped or failed run leaves no mask under the final name. An existing ``NAME`` is
replaced only when it holds nothing but numbered mask images (an earlier run's output); a folder holding
anything else is refused, so no file of the user's is ever deleted.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2
import numpy as np

from inpaint.errors import UserError
from inpaint.runtime.io import SUPPORTED_EXTENSIONS, write_image
from inpaint.runtime.video.masks import frame_number

__all__ = ["MaskFolderWriter", "write_mask", "mask_name", "check_folder"]


def mask_name(index: int) -> str:
    """The file name of frame ``index``'s mask: five digits and more when needed (SAM 2 / DAVIS style)."""
    return f"{index:05d}.png"


def write_mask(path: Path, mask: np.ndarray) -> None:
    """(H, W) bool, True = remove -> an 8-bit grey PNG (or the format ``path`` names), atomically."""
    write_image(path, mask.astype(np.uint8) * np.uint8(255))


def _is_mask_file(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in SUPPORTED_EXTENSIONS and frame_number(p) is not None


def check_folder(folder: Path) -> None:
    """UserError unless ``folder`` is absent, empty, or holds only numbered mask images (and hidden files)."""
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder}: is a file; give a folder for a clip's masks (e.g. -o masks/)")
    if folder.is_dir():
        other = [p.name for p in folder.iterdir() if not p.name.startswith(".") and not _is_mask_file(p)]
        if other:
            raise UserError(f"{folder}: holds other files ({', '.join(sorted(other)[:3])}); give a new or empty folder "
                            "for the masks")


class MaskFolderWriter:
    """A context manager: ``write(index, mask)`` per frame, the folder appears under its name on a clean exit."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        check_folder(self.folder)
        self.tmp = self.folder.with_name(f".{self.folder.name}.tmp-{os.getpid()}")
        self.count = 0

    def __enter__(self) -> MaskFolderWriter:
        try:
            if self.tmp.exists():
                shutil.rmtree(self.tmp)
            self.tmp.mkdir(parents=True)
        except OSError as exc:
            raise UserError(f"{self.folder}: cannot create the folder ({exc.strerror or exc}); check that its parent "
                            "is writable") from exc
        return self

    def write(self, index: int, mask: np.ndarray) -> None:
        """(H, W) bool, True = remove."""
        ok, data = cv2.imencode(".png", mask.astype(np.uint8) * np.uint8(255))
        if not ok:
            raise UserError(f"{self.folder}: cannot encode mask {index} as png")
        try:
            data.tofile(self.tmp / mask_name(index))
        except OSError as exc:
            raise UserError(f"{self.folder}: cannot write mask {index} ({exc.strerror or exc}); check free space") from exc
        self.count += 1

    def _commit(self) -> None:
        old = None
        if self.folder.exists():
            check_folder(self.folder)  # still only masks (nothing was added meanwhile)
            old = self.folder.with_name(f".{self.folder.name}.old-{os.getpid()}")
            os.replace(self.folder, old)
        os.replace(self.tmp, self.folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self._commit()
                return
            except OSError as error:
                shutil.rmtree(self.tmp, ignore_errors=True)
                raise UserError(f"{self.folder}: cannot move the masks into place ({error.strerror or error})") from error
        shutil.rmtree(self.tmp, ignore_errors=True)
