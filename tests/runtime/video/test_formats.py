"""Encoder per suffix, odd sizes, per-frame mask numbering."""

from __future__ import annotations

from pathlib import Path

import pytest

from inpaint.errors import UserError
from inpaint.runtime.video.formats import encoder_settings, is_clip
from inpaint.runtime.video.masks import frame_number


@pytest.mark.parametrize(
    "suffix, codec, pix_fmt",
    [(".mp4", "libx264", "yuv420p"), (".MOV", "libx264", "yuv420p"), (".mkv", "libx264", "yuv420p"),
     (".webm", "libvpx-vp9", "yuv420p"), (".avi", "mpeg4", "yuv420p")],
)
def test_default_encoder_by_suffix(suffix, codec, pix_fmt):
    s = encoder_settings(suffix, 64, 48)
    assert (s.codec, s.pix_fmt, s.odd_size) == (codec, pix_fmt, False)
    if codec == "libx264":
        assert s.options == {"crf": "18", "preset": "medium"}


def test_user_choices_and_aliases():
    s = encoder_settings(".mkv", 64, 48, codec="hevc", crf=23, preset="fast")
    assert (s.codec, s.options) == ("libx265", {"crf": "23", "preset": "fast"})
    assert encoder_settings(".mkv", 64, 48, codec="ffv1").pix_fmt == "bgr0"  # lossless stays RGB
    assert encoder_settings(".webm", 64, 48, crf=30).options == {"crf": "30", "b": "0"}


def test_odd_sizes_are_444_never_resized():
    s = encoder_settings(".mp4", 63, 47)
    assert (s.pix_fmt, s.odd_size) == ("yuv444p", True)
    with pytest.raises(UserError, match="63x47 is odd and mpeg4 needs even sizes"):
        encoder_settings(".avi", 63, 47)


def test_is_clip():
    assert is_clip("a.MP4") and is_clip(Path("x/y.webm")) and not is_clip("a.png")


@pytest.mark.parametrize("name, number", [("00000.png", 0), ("frame_0012.png", 12), ("cam2_mask-017.jpg", 17), ("mask.png", None)])
def test_frame_number_is_the_last_run_of_digits(name, number):
    assert frame_number(Path(name)) == number
