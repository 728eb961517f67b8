"""Which files are clips, and how each output suffix is encoded.

    suffix                 default video codec    audio the container cannot hold is re-encoded to
    .mp4 .m4v .mov .mkv    libx264 (H.264)        aac
    .avi                   mpeg4 (Part 2), q 2    aac
                           (AVI stores no presentation times; FFmpeg reads H.264 in AVI one frame late)
    .webm                  libvpx-vp9 (VP9)       libopus (WebM holds only Opus and Vorbis)

Audio is copied packet for packet whenever the output container can hold its codec (PyAV's
``OutputContainer.supported_codecs``), and re-encoded only otherwise, with a warning.

The default (``--codec`` not given) for mp4, mov, mkv is H.264 in 4:2:0 (yuv420p) at constant quality ``crf`` 18
(FFmpeg's H.264 guide: 17 or 18 is "visually lossless or nearly so") and preset "medium" (x264's default). 4:2:0 needs even
width and height; an odd-sized clip is encoded 4:4:4 (yuv444p) at its own size instead, with a
warning: nothing is resized or cropped. ``--codec`` takes any FFmpeg encoder of the installed PyAV
(libx265, libsvtav1, libvpx-vp9, ffv1, mpeg4, ...). A lossy codec re-encodes the whole frame, so the
known pixels of the FILE differ from the input by the codec's loss; the frames given to the encoder
have them bit-identical, and the lossless RGB encoders (``ffv1``, ``libx264rgb --crf 0``) keep them so.
"""

from __future__ import annotations

from dataclasses import dataclass

from inpaint.errors import UserError

__all__ = ["VIDEO_EXTENSIONS", "EncoderSettings", "encoder_settings", "is_clip"]

#: clip suffixes read and written (lower case, with the dot)
VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v")

_DEFAULT_CODEC = {".webm": "libvpx-vp9", ".avi": "mpeg4"}
#: MPEG-4 Part 2 quantiser for .avi: 2 is FFmpeg's "high quality" end of -q:v 2..31 (FF_QP2LAMBDA = 118)
MPEG4_QSCALE = 2
_QP2LAMBDA = 118
#: short names users type -> FFmpeg encoder names
_ALIASES = {"h264": "libx264", "x264": "libx264", "hevc": "libx265", "h265": "libx265", "x265": "libx265",
            "vp9": "libvpx-vp9", "av1": "libsvtav1"}
#: encoders whose quality is set with ``crf`` (and, for x264/x265/svtav1, a speed ``preset``)
_CRF = {"libx264", "libx264rgb", "libx265", "libvpx-vp9", "libsvtav1"}
_PRESET = {"libx264", "libx264rgb", "libx265"}
#: encoders that take only 4:2:0 / 4:4:4 input in their common profiles (others use their own default)
_YUV = {"libx264", "libx265", "libvpx-vp9", "libsvtav1", "mpeg4"}
#: lossless encoders kept in RGB, so that the output file holds the very pixels written (known pixels
#: bit-identical to the decoded input): ``--codec ffv1`` (mkv, avi) or ``--codec libx264rgb --crf 0``
_RGB = {"ffv1": "bgr0", "libx264rgb": "rgb24", "png": "rgb24", "qtrle": "rgb24"}
#: audio codec an output container re-encodes to when it cannot hold the input's
AUDIO_FALLBACK = {".webm": "libopus"}
AUDIO_FALLBACK_DEFAULT = "aac"

DEFAULT_CRF = 18
DEFAULT_PRESET = "medium"


def is_clip(path) -> bool:
    """True when the file's suffix is a clip suffix (case-insensitive)."""
    return str(path).lower().endswith(VIDEO_EXTENSIONS)


@dataclass(frozen=True)
class EncoderSettings:
    """codec: FFmpeg encoder name. pix_fmt: its pixel format. options: encoder private options."""

    codec: str
    pix_fmt: str | None
    options: dict[str, str]
    odd_size: bool = False


def encoder_settings(suffix: str, width: int, height: int, codec: str | None = None,
                     crf: int | None = None, preset: str | None = None) -> EncoderSettings:
    """The encoder for an output ``suffix`` and frame size (see the module docstring).

    crf / preset: None = the defaults for encoders that take them; ignored (with the caller's warning)
    for encoders that do not.
    """
    name = _ALIASES.get((codec or "").lower(), codec) or _DEFAULT_CODEC.get(suffix.lower(), "libx264")
    options: dict[str, str] = {}
    if name in _CRF:
        options["crf"] = str(DEFAULT_CRF if crf is None else crf)
        if name == "libvpx-vp9":
            options["b"] = "0"  # constant quality mode needs a zero bitrate (FFmpeg's VP9 guide)
    if name in _PRESET:
        options["preset"] = preset or DEFAULT_PRESET
    if name == "mpeg4":
        options.update(flags="+qscale", global_quality=str(MPEG4_QSCALE * _QP2LAMBDA))
    odd = bool(width % 2 or height % 2)
    if odd and name == "mpeg4":
        raise UserError(f"{width}x{height} is odd and mpeg4 needs even sizes; write .mkv or .mp4 (4:4:4 H.264) instead")
    pix_fmt = ("yuv444p" if odd else "yuv420p") if name in _YUV else _RGB.get(name)
    return EncoderSettings(codec=name, pix_fmt=pix_fmt, options=options, odd_size=odd and name in _YUV)


def takes_crf(codec: str) -> bool:
    return codec in _CRF


def takes_preset(codec: str) -> bool:
    return codec in _PRESET
