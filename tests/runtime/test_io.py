"""Image and mask reading/writing: format round trips, alpha/grey/16-bit, atomic writes, mask rules."""

from __future__ import annotations

import logging
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from inpaint.errors import UserError
from inpaint.runtime import io as rio
from inpaint.runtime.io import Picture, from_float, read_image, read_mask, to_float, write_image

RNG = np.random.default_rng(0)


def _random(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    return RNG.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True, dtype=dtype)


def _png_bytes(array: np.ndarray, colour_type: int) -> bytes:
    """A minimal PNG written by hand (OpenCV cannot write grey + alpha). array: (H, W[, C]) uint8/16."""
    h, w = array.shape[:2]
    depth = 16 if array.dtype == np.uint16 else 8
    rows = array.reshape(h, -1).astype(">u2" if depth == 16 else "u1")
    raw = b"".join(b"\x00" + rows[y].tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("ext", [".png", ".tif", ".tiff"])
def test_lossless_16bit_formats_round_trip_rgb_grey_rgba(tmp_path: Path, ext: str, dtype: type) -> None:
    rgb = _random((13, 17, 3), dtype)
    alpha = _random((13, 17), dtype)

    write_image(tmp_path / f"rgb{ext}", Picture(rgb=rgb))
    back = read_image(tmp_path / f"rgb{ext}")
    assert back.rgb.dtype == dtype and np.array_equal(back.rgb, rgb)
    assert back.alpha is None and not back.grey

    write_image(tmp_path / f"rgba{ext}", Picture(rgb=rgb, alpha=alpha))
    back = read_image(tmp_path / f"rgba{ext}")
    assert np.array_equal(back.rgb, rgb)
    assert back.alpha is not None and back.alpha.dtype == dtype and np.array_equal(back.alpha, alpha)

    grey = _random((13, 17), dtype)
    write_image(tmp_path / f"grey{ext}", grey)
    assert cv2.imread(str(tmp_path / f"grey{ext}"), cv2.IMREAD_UNCHANGED).shape == (13, 17)  # one channel on disk
    back = read_image(tmp_path / f"grey{ext}")
    assert back.grey and back.alpha is None
    assert np.array_equal(back.rgb, np.repeat(grey[:, :, None], 3, axis=2))


def test_png_16bit_is_stored_as_16bit(tmp_path: Path) -> None:
    rgb = _random((6, 5, 3), np.uint16)
    write_image(tmp_path / "a.png", rgb)
    stored = cv2.imread(str(tmp_path / "a.png"), cv2.IMREAD_UNCHANGED)
    assert stored.dtype == np.uint16 and np.array_equal(stored[:, :, ::-1], rgb)


def test_rgba_png_written_by_another_program_keeps_alpha_and_colour(tmp_path: Path) -> None:
    bgra = _random((9, 11, 4), np.uint8)
    bgra[:4, :, 3] = 0  # fully transparent rows keep their colour in png
    cv2.imwrite(str(tmp_path / "x.png"), bgra)
    pic = read_image(tmp_path / "x.png")
    assert np.array_equal(pic.rgb, bgra[:, :, 2::-1]) and np.array_equal(pic.alpha, bgra[:, :, 3])
    write_image(tmp_path / "y.png", pic)
    assert np.array_equal(cv2.imread(str(tmp_path / "y.png"), cv2.IMREAD_UNCHANGED), bgra)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_grey_alpha_png_is_read_as_grey_with_alpha(tmp_path: Path, dtype: type) -> None:
    ga = _random((5, 8, 2), dtype)
    (tmp_path / "ga.png").write_bytes(_png_bytes(ga, colour_type=4))
    pic = read_image(tmp_path / "ga.png")
    assert pic.grey and pic.rgb.dtype == dtype
    assert np.array_equal(pic.rgb, np.repeat(ga[:, :, :1], 3, axis=2))
    assert np.array_equal(pic.alpha, ga[:, :, 1])
    write_image(tmp_path / "out.png", pic)  # OpenCV writes it as RGBA with equal colour channels
    back = read_image(tmp_path / "out.png")
    assert np.array_equal(back.rgb, pic.rgb) and np.array_equal(back.alpha, pic.alpha)


def test_bmp_round_trip_rgb_grey_rgba(tmp_path: Path) -> None:
    rgb, alpha, grey = _random((7, 9, 3), np.uint8), _random((7, 9), np.uint8), _random((7, 9), np.uint8)
    write_image(tmp_path / "a.bmp", Picture(rgb=rgb, alpha=alpha))
    back = read_image(tmp_path / "a.bmp")
    assert np.array_equal(back.rgb, rgb) and np.array_equal(back.alpha, alpha)
    write_image(tmp_path / "g.bmp", grey)
    back = read_image(tmp_path / "g.bmp")
    assert back.grey and np.array_equal(back.rgb[:, :, 0], grey)


def test_webp_is_lossless_and_keeps_alpha(tmp_path: Path) -> None:
    rgb, alpha = _random((10, 12, 3), np.uint8), _random((10, 12), np.uint8)
    alpha[alpha == 0] = 1  # webp may change the colour under fully transparent pixels
    write_image(tmp_path / "a.webp", Picture(rgb=rgb, alpha=alpha))
    back = read_image(tmp_path / "a.webp")
    assert np.array_equal(back.rgb, rgb) and np.array_equal(back.alpha, alpha)
    write_image(tmp_path / "b.webp", rgb)
    assert np.array_equal(read_image(tmp_path / "b.webp").rgb, rgb)


def test_jpg_round_trip_is_close_and_grey_stays_grey(tmp_path: Path) -> None:
    yy, xx = np.mgrid[0:32, 0:48]
    rgb = np.dstack([yy * 7, xx * 5, (xx + yy) * 3]).astype(np.uint8)  # smooth: jpeg keeps it closely
    write_image(tmp_path / "a.jpg", rgb)
    back = read_image(tmp_path / "a.jpg")
    assert back.rgb.shape == rgb.shape and not back.grey
    assert np.abs(back.rgb.astype(int) - rgb).mean() < 3
    write_image(tmp_path / "g.JPEG", (yy * 5).astype(np.uint8))
    assert cv2.imread(str(tmp_path / "g.JPEG"), cv2.IMREAD_UNCHANGED).ndim == 2
    assert read_image(tmp_path / "g.JPEG").grey


@pytest.mark.parametrize("ext", [".jpg", ".webp", ".bmp"])
def test_16bit_to_8bit_only_format_converts_with_warning(tmp_path: Path, ext: str, caplog) -> None:
    values = np.array([0, 128, 257, 65535 // 2, 65278, 65535], dtype=np.uint16)
    rgb = np.repeat(np.repeat(values[None, :, None], 8, axis=0), 3, axis=2)  # (8, 6, 3), constant columns
    with caplog.at_level(logging.WARNING, logger="inpaint"):
        write_image(tmp_path / f"a{ext}", rgb)
    assert "8-bit" in caplog.text and f"a{ext}" in caplog.text
    back = read_image(tmp_path / f"a{ext}")
    assert back.rgb.dtype == np.uint8
    expected = np.round(values / 257).astype(int)  # [0, 0, 1, 127, 254, 255]
    tolerance = 2 if ext == ".jpg" else 0
    assert np.abs(back.rgb[:, :, 0].astype(int) - expected[None, :]).max() <= tolerance


def test_alpha_to_jpg_is_dropped_with_warning(tmp_path: Path, caplog) -> None:
    pic = Picture(rgb=np.full((8, 8, 3), 100, np.uint8), alpha=np.zeros((8, 8), np.uint8))
    with caplog.at_level(logging.WARNING, logger="inpaint"):
        write_image(tmp_path / "a.jpg", pic)
    assert "alpha" in caplog.text
    assert read_image(tmp_path / "a.jpg").alpha is None


def test_grey_picture_with_generated_colour_is_written_grey_and_known_pixels_exact(tmp_path: Path) -> None:
    grey = _random((6, 6), np.uint8)
    write_image(tmp_path / "in.png", grey)
    pic = read_image(tmp_path / "in.png")
    rgb = pic.rgb.copy()
    rgb[2:4, 2:4] = [200, 10, 10]  # a model paints colour into the hole
    write_image(tmp_path / "out.png", Picture(rgb=rgb, grey=True))
    out = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    assert out.ndim == 2
    known = np.ones((6, 6), bool)
    known[2:4, 2:4] = False
    assert np.array_equal(out[known], grey[known])
    assert np.all(out[2:4, 2:4] == round(0.299 * 200 + 0.587 * 10 + 0.114 * 10))  # BT.601 luma


def test_non_ascii_path_and_parent_folders_are_created(tmp_path: Path) -> None:
    rgb = _random((4, 4, 3), np.uint8)
    path = tmp_path / "résultats" / "新しい" / "phöto.png"
    write_image(path, rgb)
    assert np.array_equal(read_image(path).rgb, rgb)


def test_jpeg_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = np.zeros((16, 32, 3), np.uint8)
    img[:, :8] = 255  # white stripe on the left of a landscape picture
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    # APP1 Exif segment with one IFD entry: Orientation (0x0112) = 6, "rotate 90 degrees clockwise to view"
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0)
    app1 = b"Exif\x00\x00" + tiff + struct.pack(">I", 0)
    data = buf.tobytes()
    (tmp_path / "phone.jpg").write_bytes(data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:])
    pic = read_image(tmp_path / "phone.jpg")
    assert pic.rgb.shape == (32, 16, 3)  # portrait, as a viewer shows it
    assert pic.rgb[:8].mean() > 200 and pic.rgb[-8:].mean() < 50  # the stripe is now at the top


# ---------------------------------------------------------------- errors


def test_missing_empty_and_broken_files_raise_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"nope\.png: cannot read image .*png/jpg/webp/bmp/tiff"):
        read_image(tmp_path / "nope.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(UserError, match="empty file"):
        read_image(tmp_path / "empty.png")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    with pytest.raises(UserError, match="broken.jpg: cannot read image"):
        read_image(tmp_path / "broken.jpg")
    with pytest.raises(UserError, match="cannot read mask"):
        read_mask(tmp_path / "broken.jpg")
    with pytest.raises(UserError, match="cannot read image"):
        read_image(tmp_path)  # a folder


def test_float_tiff_is_refused(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "f.tif"), np.zeros((4, 4), np.float32))
    with pytest.raises(UserError, match="float32 pixels are not supported"):
        read_image(tmp_path / "f.tif")


def test_unknown_extension_names_the_supported_ones(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="png, jpg, jpeg, webp, bmp, tif, tiff"):
        write_image(tmp_path / "out.gif", np.zeros((4, 4, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- atomic writes


def _existing_output(tmp_path: Path) -> tuple[Path, bytes]:
    out = tmp_path / "out.png"
    write_image(out, _random((8, 8, 3), np.uint8))
    return out, out.read_bytes()


def test_failed_encode_leaves_existing_output_untouched(tmp_path: Path, monkeypatch) -> None:
    out, before = _existing_output(tmp_path)

    def broken(*args, **kwargs):
        raise cv2.error("simulated encoder failure")

    monkeypatch.setattr(rio.cv2, "imencode", broken)
    with pytest.raises(UserError, match="out.png: cannot encode"):
        write_image(out, _random((8, 8, 3), np.uint8))
    monkeypatch.setattr(rio.cv2, "imencode", lambda *a, **k: (False, None))
    with pytest.raises(UserError, match="out.png: cannot encode"):
        write_image(out, _random((8, 8, 3), np.uint8))
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_failure_after_the_temp_file_is_written_removes_it(tmp_path: Path, monkeypatch) -> None:
    out, before = _existing_output(tmp_path)
    seen: list[Path] = []

    def failing_replace(src, dst):
        seen.append(Path(src))
        assert Path(src).exists() and Path(src).parent == out.parent  # the temp file is beside the target
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rio.os, "replace", failing_replace)
    with pytest.raises(UserError, match="out.png: cannot write the image .No space left on device"):
        write_image(out, _random((8, 8, 3), np.uint8))
    assert seen and seen[0].name == f".out.tmp-{os.getpid()}.png"
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_successful_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    out, before = _existing_output(tmp_path)
    new = _random((8, 8, 3), np.uint8)
    write_image(out, new)
    assert out.read_bytes() != before and np.array_equal(read_image(out).rgb, new)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


# ---------------------------------------------------------------- masks


def test_mask_nonzero_in_any_channel_is_hole(tmp_path: Path) -> None:
    bgr = np.zeros((6, 7, 3), np.uint8)
    bgr[1, 1, 0] = 1  # faint blue
    bgr[2, 3, 2] = 255  # red
    bgr[4, 5] = 255  # white
    cv2.imwrite(str(tmp_path / "m.png"), bgr)
    hole = read_mask(tmp_path / "m.png")
    assert hole.dtype == bool and hole.shape == (6, 7)
    assert sorted(zip(*np.nonzero(hole))) == [(1, 1), (2, 3), (4, 5)]


def test_mask_grey_and_16bit(tmp_path: Path) -> None:
    m = np.zeros((5, 5), np.uint16)
    m[2, 2] = 1
    cv2.imwrite(str(tmp_path / "m16.png"), m)
    assert np.array_equal(read_mask(tmp_path / "m16.png"), m != 0)
    g = np.zeros((5, 5), np.uint8)
    g[0, :] = 255
    cv2.imwrite(str(tmp_path / "g.png"), g)
    assert np.array_equal(read_mask(tmp_path / "g.png"), g != 0)


def test_rgba_mask_uses_colour_and_falls_back_to_alpha_when_black(tmp_path: Path) -> None:
    # white strokes: the colour decides, the alpha is ignored
    bgra = np.zeros((6, 6, 4), np.uint8)
    bgra[..., 3] = 255
    bgra[1:3, 1:3, :3] = 255
    bgra[4, 4, 3] = 0  # transparent black: not a hole
    cv2.imwrite(str(tmp_path / "white.png"), bgra)
    hole = read_mask(tmp_path / "white.png")
    assert hole.sum() == 4 and hole[1:3, 1:3].all()

    # black strokes on a transparent layer: the alpha decides
    layer = np.zeros((6, 6, 4), np.uint8)
    layer[0, :, 3] = 255
    layer[5, 5, 3] = 10
    cv2.imwrite(str(tmp_path / "layer.png"), layer)
    hole = read_mask(tmp_path / "layer.png")
    assert hole.sum() == 7 and hole[0].all() and hole[5, 5]

    # fully opaque black: no hole at all
    opaque = np.zeros((6, 6, 4), np.uint8)
    opaque[..., 3] = 255
    cv2.imwrite(str(tmp_path / "opaque.png"), opaque)
    assert not read_mask(tmp_path / "opaque.png").any()


def test_mask_of_another_size_is_resized_nearest_with_warning(tmp_path: Path, caplog) -> None:
    small = RNG.random((10, 12)) > 0.5
    cv2.imwrite(str(tmp_path / "m.png"), small.astype(np.uint8) * 255)
    with caplog.at_level(logging.WARNING, logger="inpaint"):
        hole = read_mask(tmp_path / "m.png", size=(30, 36), picture="photo.jpg")
    assert hole.dtype == bool and hole.shape == (30, 36)
    # nearest neighbour: every output pixel is its source pixel (3x rows, 3x columns)
    assert np.array_equal(hole, np.repeat(np.repeat(small, 3, axis=0), 3, axis=1))
    assert "12x10" in caplog.text and "36x30" in caplog.text and "m.png" in caplog.text and "photo.jpg" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="inpaint"):
        same = read_mask(tmp_path / "m.png", size=(10, 12))
    assert np.array_equal(same, small) and caplog.text == ""


def test_mask_downscale_stays_binary(tmp_path: Path) -> None:
    m = (RNG.random((101, 77)) > 0.7).astype(np.uint8) * 255
    cv2.imwrite(str(tmp_path / "m.png"), m)
    hole = read_mask(tmp_path / "m.png", size=(50, 38))  # the same aspect ratio, within a mask pixel
    assert hole.dtype == bool and hole.shape == (50, 38) and 0 < hole.sum() < hole.size


# ---------------------------------------------------------------- scaling and no-torch import


def test_to_float_from_float_round_trip_every_value() -> None:
    for dtype, top in ((np.uint8, 255), (np.uint16, 65535)):
        values = np.arange(top + 1, dtype=dtype)
        f = to_float(values)
        assert f.dtype == np.float32 and f.min() == 0 and f.max() == 1
        assert np.array_equal(from_float(f, dtype), values)
    assert from_float(np.array([-0.5, 0.5, 1.7, np.nan], np.float32), np.uint8).tolist() == [0, 128, 255, 0]


def test_runtime_modules_import_without_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None; "
        "import inpaint.runtime.io, inpaint.runtime.processing, inpaint.runtime.jobs; "
        "assert 'torch' not in sys.modules or sys.modules['torch'] is None"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=root)
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- bytes (uploads)


@pytest.mark.parametrize("name", ["rgb.png", "rgba16.png", "grey.png", "photo.jpg", "alpha.webp", "grey.tif"])
def test_decode_from_bytes_equals_reading_the_file(tmp_path: Path, name: str) -> None:
    from inpaint.runtime.io import decode_image, decode_mask, encode_image

    shape = {"rgb": (9, 7, 3), "rgba16": (9, 7, 4), "grey": (9, 7), "photo": (9, 7, 3), "alpha": (9, 7, 4)}[name.split(".")[0]]
    dtype = np.uint16 if "16" in name else np.uint8
    path = tmp_path / name
    cv2.imwrite(str(path), _random(shape, dtype))
    data = path.read_bytes()
    from_file, from_bytes = read_image(path), decode_image(data, "upload")
    assert from_bytes.path is None and from_bytes.grey == from_file.grey
    assert np.array_equal(from_bytes.rgb, from_file.rgb)
    assert (from_bytes.alpha is None) == (from_file.alpha is None)
    if from_file.alpha is not None:
        assert np.array_equal(from_bytes.alpha, from_file.alpha)
    assert np.array_equal(decode_mask(data, force=True), read_mask(path, force=True))  # random pixels: no real mask
    # the PNG encoder writes what write_image writes
    write_image(tmp_path / "out.png", from_bytes)
    assert encode_image(from_bytes) == (tmp_path / "out.png").read_bytes()


def test_decode_errors_name_the_upload() -> None:
    from inpaint.runtime.io import decode_image, decode_mask

    with pytest.raises(UserError, match=r"^image: cannot read image \(empty file"):
        decode_image(b"")
    with pytest.raises(UserError, match=r"^the mask: cannot read mask \(a truncated PNG file"):
        decode_mask(b"\x89PNG\r\n\x1a\n garbage", name="the mask")
