"""Read images and masks, write results: png, jpg/jpeg, webp, bmp, tif/tiff; 8- and 16-bit; grey, RGB, RGBA.

numpy + OpenCV only (no torch). Files are read with ``np.fromfile`` + ``cv2.imdecode`` and written with
``cv2.imencode`` + an atomic replace, so paths with non-ASCII characters work and a failed write never
damages an existing file.

What each format keeps when written (OpenCV's encoders, checked with opencv-python 5.0):

    format     16-bit   alpha   grey stays 1 channel   lossless
    png        yes      yes     yes                    yes
    tif/tiff   yes      yes     yes                    yes
    bmp        no       yes     yes                    yes
    webp       no       yes     no (written as RGB)    yes (OpenCV's default: lossless); the colour
                                                        under fully transparent pixels may change
    jpg/jpeg   no       no      yes                    no (quality 95, or ``quality``)

Known pixels are bit-identical in the *file* only for the lossless formats: a jpg output (and a webp one given a
``quality``) is re-encoded, so its known pixels differ from the input's by the codec's rounding.

A 16-bit picture written to an 8-bit-only format is converted (v -> round(v / 257)) with a warning;
alpha written to jpg is dropped with a warning.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inpaint.errors import UserError
from inpaint.runtime.file_kinds import FORMAT_HINT as _FORMAT_HINT
from inpaint.runtime.file_kinds import native_warnings, why_undecodable
from inpaint.runtime.processing import from_float, to_float

__all__ = [
    "decode_image",
    "decode_mask",
    "resize_mask",
    "encode_image",
    "SUPPORTED_EXTENSIONS",
    "Picture",
    "read_image",
    "read_mask",
    "write_image",
    "to_float",
    "from_float",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Format:
    keeps_16bit: bool
    keeps_alpha: bool
    params: tuple[int, ...] = ()


_FORMATS = {
    ".png": _Format(keeps_16bit=True, keeps_alpha=True),
    ".jpg": _Format(keeps_16bit=False, keeps_alpha=False, params=(cv2.IMWRITE_JPEG_QUALITY, 95)),
    ".jpeg": _Format(keeps_16bit=False, keeps_alpha=False, params=(cv2.IMWRITE_JPEG_QUALITY, 95)),
    ".webp": _Format(keeps_16bit=False, keeps_alpha=True),  # no quality given: OpenCV writes lossless WebP
    ".bmp": _Format(keeps_16bit=False, keeps_alpha=True),
    ".tif": _Format(keeps_16bit=True, keeps_alpha=True),
    ".tiff": _Format(keeps_16bit=True, keeps_alpha=True),
}

#: file extensions (lower case, with the dot) that are read and written
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(_FORMATS)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: ITU-R BT.601 luma weights (those of cv2.COLOR_RGB2GRAY), to write a grey picture's generated pixels
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass
class Picture:
    """One image as stored in its file.

    rgb: (H, W, 3) uint8 in [0, 255] or uint16 in [0, 65535], RGB order; a grey input has its one
        channel repeated three times.
    alpha: (H, W) with the dtype of ``rgb``, or None; carried through untouched and written back.
    grey: the file had a single colour channel (grey, or grey + alpha); it is written back as grey.
    path: the file it was read from, or None.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    grey: bool = False
    path: Path | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(H, W)."""
        return self.rgb.shape[0], self.rgb.shape[1]


def _read_bytes(path: str | Path, what: str) -> np.ndarray:
    """The file's bytes as a 1-D uint8 array, or UserError."""
    try:
        return np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise UserError(f"{path}: cannot read {what} ({exc.strerror or exc}); {_FORMAT_HINT}") from exc


def _decode(data: np.ndarray, name: str | Path, what: str) -> np.ndarray:
    """The decoded array as OpenCV returns it (BGR/BGRA or 2-D grey), or UserError naming ``name``.

    data: the encoded file, 1-D uint8. A file that decodes with the image library's own warnings (libjpeg:
    "Corrupt JPEG data: ...") is used, and the warning is logged once, naming the file, instead of leaking onto
    the terminal; one that does not decode is named for what it is (truncated, damaged, not an image).
    """
    # IMREAD_UNCHANGED keeps alpha and 16 bits but ignores the EXIF orientation. A JPEG has no alpha,
    # so it is read with flags that apply the orientation: a phone photo comes out upright, as viewers
    # show it and as a mask drawn on it expects (the written result carries no orientation tag).
    is_jpeg = data[:2].tobytes() == b"\xff\xd8"
    flags = cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH if is_jpeg else cv2.IMREAD_UNCHANGED
    array = None
    if data.size:
        with native_warnings() as said:
            try:
                array = cv2.imdecode(data, flags)
            except cv2.error:
                array = None
        if array is not None and said():
            _log.warning("%s: the %s is damaged (%s); using what could be decoded", name, what, said())
    if array is None:
        raise UserError(f"{name}: cannot read {what} ({why_undecodable(data)})")
    return array


def _as_bytes(data: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    return data if isinstance(data, np.ndarray) else np.frombuffer(data, dtype=np.uint8)


def _png_is_grey(data: np.ndarray) -> bool:
    """True for a PNG whose header says grey or grey + alpha (colour type 0 or 4, PNG spec 11.2.2).

    OpenCV decodes grey + alpha as BGRA; the header tells that it was grey.
    """
    return data[:8].tobytes() == _PNG_SIGNATURE and data.size > 25 and int(data[25]) in (0, 4)


def read_image(path: str | Path) -> Picture:
    """Read an image file (png, jpg, webp, bmp, tiff; 8- or 16-bit; grey, RGB or RGBA).

    Returns a :class:`Picture`: rgb (H, W, 3) uint8/uint16 RGB, alpha (H, W) or None, grey flag.
    A missing, empty or undecodable file, or pixels that are not 8/16-bit integers, raise UserError.
    """
    picture = decode_image(_read_bytes(path, "image"), path)
    picture.path = Path(path)
    return picture


def decode_image(data: bytes | bytearray | memoryview | np.ndarray, name: str | Path = "image") -> Picture:
    """:func:`read_image` for a file's content already in memory (an upload): the same decoding rules.

    data: the encoded file (png, jpg, webp, bmp, tiff). name: what error messages call it.
    Returns a :class:`Picture` with ``path`` None. Empty or undecodable data raise UserError.
    """
    data = _as_bytes(data)
    array = _decode(data, name, "image")
    if array.dtype not in (np.uint8, np.uint16):
        raise UserError(f"{name}: {array.dtype} pixels are not supported; save it as an 8- or 16-bit image")
    if array.ndim == 2:
        array = array[:, :, None]
    channels = array.shape[2]
    alpha = None
    if channels in (1, 2):  # grey, grey + alpha
        rgb = np.repeat(array[:, :, :1], 3, axis=2)
        alpha = array[:, :, 1].copy() if channels == 2 else None
        grey = True
    elif channels == 3:  # BGR: swapped in place, so a 48 MP photo is held once (144 MB), not twice
        rgb = cv2.cvtColor(array, cv2.COLOR_BGR2RGB, dst=array)
        grey = _png_is_grey(data)
    elif channels == 4:  # BGRA
        rgb = np.ascontiguousarray(array[:, :, 2::-1])
        alpha = array[:, :, 3].copy()
        grey = _png_is_grey(data)
    else:
        raise UserError(f"{name}: {channels} channels are not supported; save it as grey, RGB or RGBA")
    return Picture(rgb=rgb, alpha=alpha, grey=grey)


def _palette_background(raw: memoryview) -> np.ndarray | None:
    """(3,) uint8 B, G, R of palette index 0 of an indexed-colour PNG (colour type 3), else None.

    PNG spec 11.2.2 (IHDR: colour type at byte 25 of the file) and 11.2.3 (PLTE: 3 bytes a palette entry).
    """
    if raw[:8] != _PNG_SIGNATURE or len(raw) < 26 or raw[25] != 3:
        return None
    at = 8
    while at + 8 <= len(raw):
        length = int.from_bytes(raw[at : at + 4], "big")
        kind = raw[at + 4 : at + 8]
        if kind == b"PLTE" and length >= 3:
            r, g, b = raw[at + 8 : at + 11]
            return np.array([b, g, r], np.uint8)
        if kind == b"IDAT":  # PLTE comes before the image data
            return None
        at += 12 + length
    return None


def read_mask(path: str | Path, size: tuple[int, int] | None = None, *, picture: str | Path | None = None,
              force: bool = False) -> np.ndarray:
    """Read a mask file: any image the reader accepts; non-zero = hole (the region to remove).

    Rule: a pixel is a hole when any of its colour channels is non-zero. An indexed-colour (palette) PNG,
    as DAVIS, SAM 2, XMem and Cutie write them, is read by its palette: index 0 = background, any other
    index = hole, whatever colours the palette gives them. The alpha channel of an
    RGBA (or grey + alpha) mask is ignored, except when the colour is black everywhere and the alpha
    is not the same everywhere (strokes painted black on a transparent layer): then non-zero alpha
    = hole. A fully opaque, all-black mask therefore has no hole.
    A lossy (jpg) mask's compression noise counts as hole too; save masks as png.

    size: the picture's (H, W). A mask of the same aspect ratio and another size is resized to it with
        nearest-neighbour interpolation (so it stays binary) and a warning naming both; another aspect ratio
        is a UserError naming both sizes (:func:`inpaint.runtime.mask_checks.fit_to`).
    picture: the picture's name, for the messages. force: skip :func:`inpaint.runtime.mask_checks.check_plausible`
        (a mask that looks like a photo, or covers nearly all of the picture, is a UserError: arguments swapped).
    Returns (H, W) bool, True = hole.
    """
    return decode_mask(_read_bytes(path, "mask"), size, path, picture=picture, force=force)


def decode_mask(data: bytes | bytearray | memoryview | np.ndarray, size: tuple[int, int] | None = None,
                name: str | Path = "mask", *, picture: str | Path | None = None, force: bool = False) -> np.ndarray:
    """:func:`read_mask` for a file's content already in memory (an upload): the same rules and checks.

    data: the encoded file. size, picture, force, returns: as for :func:`read_mask`. name: what messages call it.
    """
    from inpaint.runtime.mask_checks import check_plausible, fit_to

    path = name
    raw = _as_bytes(data)
    array = _decode(raw, name, "mask")
    if array.ndim == 2:
        array = array[:, :, None]
    channels = array.shape[2]
    colour = array[:, :, : 3 if channels >= 3 else 1]
    background = _palette_background(memoryview(raw)) if channels >= 3 else None
    if background is not None:  # palette index 0's colour = background (OpenCV decodes palettes to BGR)
        hole = (colour != background).any(axis=2)
        levels = hole.view(np.uint8) * np.uint8(255)  # index colours are labels, not levels: the checks see 0/255
    else:
        levels = colour.max(axis=2)  # any channel non-zero; the reduction keeps one (H, W) temporary
        hole = levels != 0
    if background is None and channels in (2, 4) and not hole.any():
        alpha = array[:, :, -1]
        if alpha.min() != alpha.max():
            levels, hole = alpha, alpha != 0
    name = str(picture) if picture is not None else "the picture"
    if not force:
        check_plausible(levels, hole, str(path), str(picture) if picture is not None else None)
    if size is not None:
        hole = fit_to(hole, tuple(size), str(path), name)
    return hole


def resize_mask(hole: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w) bool -> (H, W) = ``size`` bool, nearest neighbour (it stays binary)."""
    h, w = size
    return cv2.resize(hole.view(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST_EXACT).astype(bool)


def _to_8bit(x: np.ndarray) -> np.ndarray:
    """uint16 -> uint8 by round(v / 257), which maps 0..65535 onto 0..255 (65535 = 255 * 257)."""
    return ((x.astype(np.uint32) + 128) // 257).astype(np.uint8)


def _grey_of(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (H, W) same dtype: the value itself where R == G == B (bit-identical for the known
    pixels of a grey input), BT.601 luma elsewhere (pixels the model generated in colour)."""
    luma = from_float(to_float(rgb) @ _LUMA, rgb.dtype)
    equal = (rgb[:, :, 0] == rgb[:, :, 1]) & (rgb[:, :, 1] == rgb[:, :, 2])
    return np.where(equal, rgb[:, :, 0], luma)


def _as_picture(picture: Picture | np.ndarray) -> Picture:
    if isinstance(picture, Picture):
        return picture
    array = np.asarray(picture)
    if array.ndim == 2:
        return Picture(rgb=np.repeat(array[:, :, None], 3, axis=2), grey=True)
    if array.ndim == 3 and array.shape[2] == 3:
        return Picture(rgb=array)
    if array.ndim == 3 and array.shape[2] == 4:
        return Picture(rgb=array[:, :, :3], alpha=array[:, :, 3])
    raise ValueError(f"expected (H, W), (H, W, 3) RGB or (H, W, 4) RGBA pixels, got shape {array.shape}")


#: the formats ``quality`` applies to, with OpenCV's flag (WebP: 1-100 lossy; without a quality, lossless)
_QUALITY_FLAG = {".jpg": cv2.IMWRITE_JPEG_QUALITY, ".jpeg": cv2.IMWRITE_JPEG_QUALITY, ".webp": cv2.IMWRITE_WEBP_QUALITY}


def check_quality(quality: int | None) -> None:
    """UserError unless ``quality`` is None or 1..100 (``--quality``)."""
    if quality is not None and not 1 <= quality <= 100:
        raise UserError(f"--quality {quality}: must be 1 to 100 (JPEG / WebP; higher = better, larger)")


def _encode(path: Path, picture: Picture, quality: int | None = None) -> np.ndarray:
    """The encoded file as a 1-D uint8 array (written as is: no copy into a bytes object).

    quality: 1-100 for jpg and webp (None: jpg 95, webp lossless); ignored by the lossless formats."""
    ext = path.suffix.lower()
    fmt = _FORMATS.get(ext)
    if fmt is None:
        names = ", ".join(e[1:] for e in SUPPORTED_EXTENSIONS)
        raise UserError(f"{path}: cannot write '{path.suffix or '(no extension)'}' files; use one of: {names}")
    check_quality(quality)
    params = list(fmt.params) if quality is None or ext not in _QUALITY_FLAG else [_QUALITY_FLAG[ext], int(quality)]
    rgb, alpha = picture.rgb, picture.alpha
    if rgb.dtype not in (np.uint8, np.uint16) or (alpha is not None and alpha.dtype != rgb.dtype):
        raise TypeError(f"expected uint8 or uint16 pixels (alpha of the same dtype), got {rgb.dtype}")
    if alpha is not None and not fmt.keeps_alpha:
        _log.warning("%s: %s files have no alpha channel; the alpha channel is dropped", path, ext[1:])
        alpha = None
    if rgb.dtype == np.uint16 and not fmt.keeps_16bit:
        _log.warning("%s: %s files are 8-bit; the 16-bit picture is converted to 8-bit", path, ext[1:])
        rgb = _to_8bit(rgb)
        alpha = None if alpha is None else _to_8bit(alpha)
    if picture.grey:
        grey = _grey_of(rgb)
        # OpenCV writes no grey + alpha: such a picture is written as BGRA with equal colour channels
        pixels = grey if alpha is None else np.dstack([grey, grey, grey, alpha])
    else:
        pixels = rgb[:, :, ::-1] if alpha is None else np.dstack([rgb[:, :, ::-1], alpha])
    try:
        ok, buffer = cv2.imencode(ext, np.ascontiguousarray(pixels), params)
    except cv2.error as exc:
        raise UserError(f"{path}: cannot encode the image as {ext[1:]} ({str(exc).strip()})") from exc
    if not ok:
        raise UserError(f"{path}: cannot encode the image as {ext[1:]}")
    return buffer


def _write_atomic(path: Path, data: bytes | np.ndarray) -> None:
    """Write ``data`` to a hidden temporary file beside ``path``, then ``os.replace`` it onto ``path``.

    The replace is atomic on one file system: ``path`` holds either its old content or the new one,
    never a partial file. On any failure the temporary file is removed and ``path`` is untouched.
    """
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(
            f"{path}: cannot write the image ({exc.strerror or exc}); check that the folder is writable and has space"
        ) from exc
    finally:
        try:
            tmp.unlink()
        except OSError:  # already moved onto path, or never created
            pass


def encode_image(picture: Picture | np.ndarray, ext: str = ".png", quality: int | None = None) -> bytes:
    """The file :func:`write_image` would write for a name ending in ``ext``, as bytes (an HTTP response).

    picture: as for :func:`write_image`. ext: ".png" (default: lossless, keeps 16-bit, alpha and grey) or
    another supported extension. Raises UserError for an unknown extension or an encoder failure.
    """
    return _encode(Path(f"result{ext}"), _as_picture(picture), quality).tobytes()


def write_image(path: str | Path, picture: Picture | np.ndarray, quality: int | None = None) -> None:
    """Write ``picture`` to ``path`` in the format its extension names, atomically.

    quality: jpg / webp quality 1-100 (None: jpg 95, webp lossless).
    picture: a :class:`Picture` (alpha, grey and 16-bit restored where the format allows, see the
        module docstring), or pixels: (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA, uint8/uint16.
    Parent folders are created. An unknown extension, an encoder failure or an OS error raises
    UserError, and then any existing file at ``path`` is left as it was and no temporary file remains.
    """
    path = Path(path)
    _write_atomic(path, _encode(path, _as_picture(picture), quality))
