"""The header size reader against what OpenCV decodes, for every format and layout the project reads."""

from __future__ import annotations

import struct

import cv2
import numpy as np
import pytest

from inpaint.errors import UserError
from inpaint.runtime.image_header import read_header

_VARIANTS = [((37, 53, 3), np.uint8), ((37, 53), np.uint8), ((37, 53, 4), np.uint8), ((37, 53, 3), np.uint16),
             ((37, 53, 4), np.uint16)]
_ENCODINGS = [(".png", [], "png"), (".jpg", [], "jpg"), (".webp", [], "webp"),  # OpenCV's default webp: lossless (VP8L)
              (".webp", [cv2.IMWRITE_WEBP_QUALITY, 80], "webp"),  # lossy (VP8 , or VP8X with alpha)
              (".bmp", [], "bmp"), (".tif", [], "tiff")]


@pytest.mark.parametrize("shape,dtype", _VARIANTS)
@pytest.mark.parametrize("ext,params,fmt", _ENCODINGS)
def test_size_matches_what_opencv_decodes(shape, dtype, ext, params, fmt):
    pixels = np.random.default_rng(0).integers(0, 255, shape).astype(dtype)
    ok, data = cv2.imencode(ext, pixels, params)
    assert ok
    header = read_header(data.tobytes())
    decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    assert (header.format, header.height, header.width) == (fmt, *decoded.shape[:2])
    assert header.pixels == 37 * 53


def test_jpeg_size_is_found_past_an_exif_segment_with_a_thumbnail():
    ok, thumb = cv2.imencode(".jpg", np.zeros((8, 12, 3), np.uint8))
    ok, main = cv2.imencode(".jpg", np.zeros((300, 400, 3), np.uint8))
    app1 = b"Exif\x00\x00" + thumb.tobytes()  # a thumbnail's own SOF inside APP1 must be skipped
    data = main.tobytes()
    data = data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]
    header = read_header(data)
    assert (header.width, header.height) == (400, 300)


def test_big_endian_tiff_and_top_down_bmp():
    # a minimal big-endian TIFF: IFD at 8 with ImageWidth (SHORT) = 700 and ImageLength (LONG) = 90000
    ifd = struct.pack(">H", 2) + struct.pack(">HHIHH", 256, 3, 1, 700, 0) + struct.pack(">HHII", 257, 4, 1, 90000)
    header = read_header(b"MM\x00*" + struct.pack(">I", 8) + ifd + b"\0\0\0\0")
    assert (header.format, header.width, header.height) == ("tiff", 700, 90000)
    ok, bmp = cv2.imencode(".bmp", np.zeros((20, 30, 3), np.uint8))
    data = bytearray(bmp.tobytes())
    data[22:26] = struct.pack("<i", -20)  # negative height: rows stored top-down
    assert (read_header(bytes(data)).width, read_header(bytes(data)).height) == (30, 20)


def test_not_an_image_and_cut_headers_raise_user_error():
    with pytest.raises(UserError, match=r"^photo: not an image \(expected png/jpg/webp/bmp/tiff\)"):
        read_header(b"GIF89a\x01\x00\x01\x00", "photo")
    ok, data = cv2.imencode(".png", np.zeros((4, 4), np.uint8))
    with pytest.raises(UserError, match="a png file whose header gives no pixel size"):
        read_header(data.tobytes()[:18])
    with pytest.raises(UserError, match="a jpg file whose header"):
        read_header(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    with pytest.raises(UserError, match="a tiff file whose header"):
        read_header(b"II*\x00\xff\xff\x00\x00")  # IFD offset past the end
