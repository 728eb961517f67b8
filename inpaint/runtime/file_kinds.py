"""What an image file is when OpenCV cannot decode it, and the image libraries' own warnings kept off the terminal.

    reason = why_undecodable(data)                  # "a truncated JPEG file: ..." / "not an image format ..."
    with native_warnings() as said:                 # libjpeg / libpng print to file descriptor 2 themselves
        array = cv2.imdecode(data, flags)
    said()                                          # -> "Corrupt JPEG data: 65 extraneous bytes ..." or ""

Signatures and end markers: JPEG starts with SOI ``FF D8`` and ends with EOI ``FF D9`` (ITU-T T.81, B.1.1.3);
PNG starts with its 8-byte signature and ends with the IEND chunk (PNG spec 5.2, 11.2.5); WebP is a RIFF file
whose header holds its length (RIFF container, bytes 4-8 little-endian, + 8); BMP starts ``BM``; TIFF ``II*\\0``
or ``MM\\0*``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading

import numpy as np

from inpaint.runtime.image_header import sniff_format

__all__ = ["FORMAT_HINT", "why_undecodable", "native_warnings"]

FORMAT_HINT = "give a png/jpg/webp/bmp/tiff file"
_LOCK = threading.Lock()


#: how messages name each format of :func:`inpaint.runtime.image_header.sniff_format`
_NAMES = {"jpg": "JPEG", "png": "PNG", "webp": "WebP", "bmp": "BMP", "tiff": "TIFF"}


def _kind(head: bytes) -> str | None:
    fmt = sniff_format(head)
    return None if fmt is None else _NAMES[fmt]


def _complete(kind: str, data: np.ndarray) -> bool:
    tail = data[-16:].tobytes()
    if kind == "JPEG":
        return tail.rstrip(b"\x00").endswith(b"\xff\xd9")  # some writers pad after EOI
    if kind == "PNG":
        return b"IEND" in tail
    if kind == "WebP":
        return data.size >= 8 + int.from_bytes(data[4:8].tobytes(), "little")
    return True  # BMP / TIFF: no end marker to check


def why_undecodable(data: np.ndarray) -> str:
    """One clause saying why ``data`` (the file's bytes, uint8) did not decode, and what to do."""
    if data.size == 0:
        return f"empty file; {FORMAT_HINT}"
    kind = _kind(data[:12].tobytes())
    if kind is None:
        return f"not an image format this reads; {FORMAT_HINT}"
    if not _complete(kind, data):
        return f"a truncated {kind} file: it ends before its image data does; copy or download it again"
    return f"a damaged {kind} file: its image data cannot be decoded; save it again from the original"


@contextlib.contextmanager
def native_warnings():
    """Catch what C libraries write to file descriptor 2 while the block runs; yields a function returning it.

    Python's own ``sys.stderr`` writes of other threads in that moment (a progress bar) are put back afterwards.
    Where descriptor 2 cannot be redirected (no such descriptor), nothing is caught.
    """
    caught: list[str] = [""]
    with _LOCK:
        try:
            saved = os.dup(2)
        except OSError:
            yield lambda: ""
            return
        with tempfile.TemporaryFile(mode="w+b") as sink:
            try:
                sys.stderr.flush()
            except (AttributeError, ValueError):
                pass
            os.dup2(sink.fileno(), 2)
            try:
                yield lambda: caught[0]
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                text = sink.read().decode("utf-8", "replace")
                if "\x1b" in text:  # a terminal's control codes: not a library warning; give it back
                    sys.stderr.write(text)
                    text = ""
                caught[0] = " ".join(text.split())
