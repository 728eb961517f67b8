"""Palette (indexed-colour) PNG masks as DAVIS / SAM 2 / Cutie write them: index 0 = keep, others = remove,
whatever colour the palette gives index 0; a folder of them drives a clip (``inpaint run clip masks/``)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from inpaint.runtime.io import read_mask
from inpaint.runtime.video.decoder import ClipReader
from inpaint.runtime.video.masks import open_masks
from tests.runtime.video.clips import make_clip


def write_palette_png(path: Path, index: np.ndarray, palette: list[tuple[int, int, int]]) -> None:
    """(H, W) uint8 palette indices -> an 8-bit indexed-colour PNG (colour type 3), written by hand."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    h, w = index.shape
    raw = b"".join(b"\x00" + index[y].astype(np.uint8).tobytes() for y in range(h))  # filter 0 per row
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
           + chunk(b"PLTE", bytes(v for rgb in palette for v in rgb)) + chunk(b"IDAT", zlib.compress(raw))
           + chunk(b"IEND", b""))
    path.write_bytes(png)


def _index(h=48, w=64, obj=(10, 26, 20, 44)) -> np.ndarray:
    idx = np.zeros((h, w), np.uint8)
    y0, y1, x0, x1 = obj
    idx[y0:y1, x0:x1] = 1
    idx[30:40, 5:15] = 2  # a second object: removed too
    return idx


def test_index_zero_is_background_whatever_its_colour(tmp_path):
    idx = _index()
    write_palette_png(tmp_path / "davis.png", idx, [(0, 0, 0), (128, 0, 0), (0, 128, 0)])  # DAVIS palette
    write_palette_png(tmp_path / "white0.png", idx, [(255, 255, 255), (0, 0, 0), (10, 10, 10)])  # index 0 white
    for name in ("davis.png", "white0.png"):
        assert np.array_equal(read_mask(tmp_path / name), idx > 0), name


def test_run_reads_a_palette_folder(tmp_path):
    make_clip(tmp_path / "clip.mp4", 4, (48, 64))
    masks = tmp_path / "masks"
    masks.mkdir()
    for i in range(4):
        write_palette_png(masks / f"{i:05d}.png", _index(obj=(10, 26, 20 + i, 44 + i)), [(255, 255, 255), (0, 0, 0), (9, 9, 9)])
    with ClipReader(tmp_path / "clip.mp4") as clip:
        source = open_masks(masks, clip.info)
        holes = [source.hole(i) for i in range(4)]
    for i, hole in enumerate(holes):
        assert np.array_equal(hole, _index(obj=(10, 26, 20 + i, 44 + i)) > 0)
