"""An encoded image's pixel size from its header, without decoding it: png, jpg, webp, bmp, tiff.

    header = read_header(data)          # Header(format="png", width=4032, height=3024)
    if header.pixels > limit: ...       # refuse a decompression bomb before cv2.imdecode allocates it

OpenCV reads no header without decoding the whole picture, and a few kilobytes of PNG or WebP can
decode to gigapixels; a server checks the size here first. Only the first bytes are looked at (a JPEG's
segments are skipped by their lengths up to its frame header). The layouts, by format:

    png    IHDR is the first chunk: width, height as big-endian uint32 at bytes 16 and 20 (PNG spec 11.2.2)
    jpg    the first SOFn segment (markers C0-CF less C4 DHT, C8 JPG, CC DAC): precision (1 byte),
           height, width as big-endian uint16 (ITU T.81 B.2.2). EXIF orientation may swap them on
           decoding; the pixel count is the same
    webp   RIFF container: 'VP8X' canvas width-1, height-1 as 24-bit little-endian at bytes 24 and 27;
           'VP8 ' (lossy) 14-bit width, height at bytes 26 and 28 after the start code 9d 01 2a;
           'VP8L' (lossless) 14-bit width-1, height-1 packed after the signature byte 0x2f (RFC 9649)
    bmp    the DIB header's width and height: int32 at bytes 18 and 22 (height < 0 = top-down), or
           uint16 at 18 and 20 in the old 12-byte BITMAPCOREHEADER
    tiff   the first IFD's tags 256 (ImageWidth) and 257 (ImageLength), SHORT or LONG (TIFF 6.0, section 2)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from inpaint.errors import UserError

__all__ = ["FORMATS", "Header", "read_header", "sniff_format"]

#: formats whose header is read here (what :mod:`inpaint.runtime.io` reads and writes)
FORMATS = ("png", "jpg", "webp", "bmp", "tiff")

_PNG = b"\x89PNG\r\n\x1a\n"
#: JPEG markers that start a frame header (SOF0-SOF15), i.e. C0-CF less DHT (C4), JPG (C8) and DAC (CC)
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
#: JPEG markers that stand alone, without a length: TEM (01), RST0-RST7 (D0-D7), SOI (D8)
_JPEG_BARE = frozenset([0x01, *range(0xD0, 0xD9)])
_TIFF_WIDTH, _TIFF_LENGTH = 256, 257
_TIFF_SHORT, _TIFF_LONG = 3, 4


@dataclass(frozen=True)
class Header:
    """format: one of :data:`FORMATS`. width, height: in pixels, as stored (before any EXIF rotation)."""

    format: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def read_header(data: bytes, name: str = "image") -> Header:
    """The format and size that ``data`` (an encoded image file) declares.

    name: what error messages call it. Raises UserError when ``data`` is none of :data:`FORMATS`
    ("not an image") or when its header is cut short or declares no size (a damaged file).
    """
    fmt = sniff_format(data)
    if fmt is None:
        raise UserError(f"{name}: not an image (expected {'/'.join(FORMATS)})")
    try:
        size = _READERS[fmt](data)
    except (struct.error, IndexError, ValueError):
        size = None
    if size is None or size[0] <= 0 or size[1] <= 0:
        raise UserError(f"{name}: a {fmt} file whose header gives no pixel size (cut short or damaged)")
    return Header(fmt, *size)


def sniff_format(data: bytes) -> str | None:
    """The format named by the file's signature (one of :data:`FORMATS`), or None."""
    if data[:8] == _PNG:
        return "png"
    if data[:2] == b"\xff\xd8":
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:2] == b"BM":
        return "bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


def _png(data: bytes) -> tuple[int, int] | None:
    if data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def _jpeg(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte before a marker
            i += 1
            continue
        if marker in _JPEG_BARE:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        if marker == 0xDA:  # start of scan before any frame header
            return None
        i += 2 + length
    return None


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        if data[20] != 0x2F:
            return None
        (bits,) = struct.unpack("<I", data[21:25])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _bmp(data: bytes) -> tuple[int, int] | None:
    (dib,) = struct.unpack("<I", data[14:18])
    if dib == 12:  # BITMAPCOREHEADER
        return struct.unpack("<HH", data[18:22])
    width, height = struct.unpack("<ii", data[18:26])
    return width, abs(height)


def _tiff(data: bytes) -> tuple[int, int] | None:
    order = "<" if data[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[offset:offset + 2])
    found: dict[int, int] = {}
    for k in range(count):
        entry = data[offset + 2 + 12 * k:offset + 14 + 12 * k]
        tag, kind, n = struct.unpack(order + "HHI", entry[:8])
        if tag in (_TIFF_WIDTH, _TIFF_LENGTH) and n == 1:
            if kind == _TIFF_SHORT:
                found[tag] = struct.unpack(order + "H", entry[8:10])[0]
            elif kind == _TIFF_LONG:
                found[tag] = struct.unpack(order + "I", entry[8:12])[0]
    if _TIFF_WIDTH not in found or _TIFF_LENGTH not in found:
        return None
    return found[_TIFF_WIDTH], found[_TIFF_LENGTH]


_READERS = {"png": _png, "jpg": _jpeg, "webp": _webp, "bmp": _bmp, "tiff": _tiff}
