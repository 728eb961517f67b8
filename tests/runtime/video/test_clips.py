"""Clips through ``run_clip`` with a numpy runner: what goes in comes out (frames, times, size, rotation,
audio), masks of every kind, empty holes, odd sizes, failures that leave nothing behind."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from inpaint.errors import UserError
from inpaint.runtime.video.pipeline import run_clip
from tests.runtime.video.clips import make_clip, picture, read_clip
from tests.runtime.video.conftest import write_mask

SIZE = (48, 64)
BOX = (8, 24, 16, 40)


def _record():
    seen = {}

    def hook(index, rgb, out, hole):
        seen[index] = (rgb.copy(), out.copy(), hole.copy())

    return seen, hook


@pytest.mark.parametrize(
    "suffix, codec, pix_fmt",
    [(".mp4", "libx264", "yuv420p"), (".mkv", "libx264", "yuv420p"), (".avi", "mpeg4", "yuv420p")],
    ids=["mp4-h264", "mkv-h264", "avi-mpeg4"],
)
def test_frames_times_size_and_duration_are_kept(tmp_path, runner, suffix, codec, pix_fmt):
    clip, out = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    make_clip(clip, 12, SIZE, codec=codec, pix_fmt=pix_fmt)
    write_mask(tmp_path / "m.png", SIZE, BOX)
    seen, hook = _record()
    result = run_clip(runner, clip, tmp_path / "m.png", out, batch=4, frame_hook=hook, infer_options={"texture": "off"})
    src, dst = read_clip(clip), read_clip(out)
    assert result.frames == len(dst["frames"]) == len(src["frames"]) == 12 and result.inferred == 12
    assert [c[0] for c in runner.calls] == [4, 4, 4]  # --batch 4: three network calls
    assert dst["size"] == SIZE and dst["seconds"] == pytest.approx(src["seconds"], abs=1e-6)
    if src["duration"] is not None:
        assert dst["duration"] == pytest.approx(src["duration"], abs=1e-3)
    hole = seen[0][2]
    for rgb, res, _ in seen.values():  # what went to the encoder: known pixels bit-identical, the hole filled
        assert np.array_equal(res[~hole], rgb[~hole]) and np.all(res[hole] == 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([clip.name, out.name, "m.png"])  # no temporary file


def test_rotation_is_kept_and_the_mask_is_drawn_as_displayed(tmp_path, runner):
    clip, out = tmp_path / "phone.mp4", tmp_path / "out.mp4"
    make_clip(clip, 8, SIZE, rotation=90)
    display = write_mask(tmp_path / "m.png", (64, 48), (4, 20, 30, 44))  # portrait, as a player shows it
    seen, hook = _record()
    run_clip(runner, clip, tmp_path / "m.png", out, frame_hook=hook)
    assert np.array_equal(np.rot90(seen[0][2], 1), display)  # stored hole turned as the player turns frames
    dst = read_clip(out)
    assert dst["rotation"] == 90 and dst["size"] == SIZE and len(dst["frames"]) == 8
    cap = cv2.VideoCapture(str(out))  # OpenCV applies the display matrix: an independent reading of it
    ok, shown = cap.read()
    assert ok and shown.shape[:2] == (64, 48)


@pytest.mark.parametrize(
    "src_suffix, dst_suffix, audio, vcodec",
    [(".mp4", ".mp4", "aac", "libx264"), (".mkv", ".mkv", "pcm_s16le", "libx264"), (".avi", ".mp4", "pcm_s16le", "mpeg4"),
     (".mkv", ".mp4", "pcm_s16le", "libx264")],
    ids=["aac-mp4-mp4", "pcm-mkv-mkv", "pcm-avi-mp4", "pcm-mkv-mp4"],
)
def test_audio_is_copied_packet_for_packet(tmp_path, runner, src_suffix, dst_suffix, audio, vcodec):
    clip, out = tmp_path / f"in{src_suffix}", tmp_path / f"out{dst_suffix}"
    make_clip(clip, 15, SIZE, codec=vcodec, audio=audio)
    write_mask(tmp_path / "m.png", SIZE, BOX)
    run_clip(runner, clip, tmp_path / "m.png", out)
    src, dst = read_clip(clip), read_clip(out)
    assert [c for c, _ in dst["audio"]] == [c for c, _ in src["audio"]] == [audio]
    assert dst["audio_packets"] == src["audio_packets"] and src["audio_packets"][0] > 3
    assert len(dst["frames"]) == 15


def test_audio_the_container_cannot_hold_is_reencoded_with_a_warning(tmp_path, runner, caplog):
    clip, out = tmp_path / "in.mp4", tmp_path / "out.webm"
    make_clip(clip, 10, SIZE, audio="aac")
    write_mask(tmp_path / "m.png", SIZE, BOX)
    with caplog.at_level(logging.WARNING, logger="inpaint"):
        run_clip(runner, clip, tmp_path / "m.png", out, preset="ultrafast")
    dst = read_clip(out)
    assert "re-encoding it to libopus" in caplog.text and "--preset is ignored" in caplog.text
    assert dst["codec"] == "vp9" and [c for c, _ in dst["audio"]] == ["opus"] and len(dst["frames"]) == 10


def test_variable_frame_rate_times_are_kept(tmp_path, runner):
    clip, out = tmp_path / "vfr.mkv", tmp_path / "out.mp4"
    pts = [0, 40, 80, 200, 240, 400, 433, 466, 700, 740]  # ms
    make_clip(clip, len(pts), SIZE, pts=pts, time_base=Fraction(1, 1000))
    write_mask(tmp_path / "m.png", SIZE, BOX)
    run_clip(runner, clip, tmp_path / "m.png", out)
    assert read_clip(out)["seconds"] == pytest.approx([p / 1000 for p in pts], abs=1e-4)


def _out_of_order_clip(path: Path, order: list[int]) -> None:
    """An mkv whose packets carry the times ``order`` * 40 ms (+ 40): intra-only, so every decoded frame keeps
    its packet's time, out of order and repeated as a broken muxer leaves them."""
    out = av.open(str(path), "w")
    v = out.add_stream("mpeg4", rate=25)
    v.width, v.height, v.pix_fmt = SIZE[1], SIZE[0], "yuv420p"
    packets = []
    for i in range(len(order)):
        f = av.VideoFrame.from_ndarray(picture(i, *SIZE), format="rgb24")
        f.pts, f.time_base = i, Fraction(1, 25)
        packets += list(v.encode(f))
    packets += list(v.encode())
    for i, p in enumerate(packets):
        p.time_base = Fraction(1, 1000)
        p.pts, p.dts, p.duration = order[i] * 40 + 40, min(order[i:]) * 40 + 30 + i, 40
        out.mux(p)
    out.close()


def test_out_of_order_and_repeated_times_come_out_monotonic_with_the_duration(tmp_path, runner, caplog):
    clip = tmp_path / "broken.mkv"
    _out_of_order_clip(clip, [0, 1, 2, 4, 3, 5, 6, 6, 8, 9])
    decoded = read_clip(clip)["pts"]
    assert decoded != sorted(decoded)  # the test clip really is broken
    write_mask(tmp_path / "m.png", SIZE, BOX)
    for out in (tmp_path / "out.mp4", tmp_path / "out.mkv"):
        with caplog.at_level(logging.WARNING, logger="inpaint"):
            run_clip(runner, clip, tmp_path / "m.png", out)
        seconds = read_clip(out)["seconds"]
        assert len(seconds) == 10 and all(b > a for a, b in zip(seconds, seconds[1:]))
        assert seconds[0] == pytest.approx(0.04) and seconds[-1] == pytest.approx(0.40)  # same span
    assert "repaired in order, duration kept" in caplog.text


def test_per_frame_mask_folder_and_empty_masks_skip_the_network(tmp_path, runner):
    clip, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_clip(clip, 10, SIZE)
    masks = tmp_path / "masks"
    masks.mkdir()
    boxes = {}
    for i in range(10):  # ffmpeg-style numbering from 1; frames 3 and 7 have nothing to remove
        box = (0, 0, 0, 0) if i in (3, 7) else (4 + i, 20 + i, 10, 30)
        boxes[i] = write_mask(masks / f"frame_{i + 1:04d}.png", SIZE, box)
    seen, hook = _record()
    result = run_clip(runner, clip, masks, out, batch=3, frame_hook=hook)
    assert result.frames == 10 and result.inferred == 8
    assert sum(n for n, *_ in runner.calls) == 8  # the network saw 8 frames
    for i in range(10):
        rgb, res, hole = seen[i]
        assert np.array_equal(hole, boxes[i])
        if i in (3, 7):
            assert np.array_equal(res, rgb)  # an empty mask: the decoded frame, untouched
    assert len(read_clip(out)["frames"]) == 10


def test_mask_folder_shorter_than_the_clip_is_an_error_before_anything_is_written(tmp_path, runner):
    clip, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_clip(clip, 10, SIZE)
    masks = tmp_path / "masks"
    masks.mkdir()
    for i in range(6):
        write_mask(masks / f"{i:05d}.png", SIZE, BOX)
    with pytest.raises(UserError, match="6 masks but in.mp4 has 10 frames.*--mask-hold-last"):
        run_clip(runner, clip, masks, out)
    assert not out.exists() and runner.calls == []
    seen, hook = _record()
    run_clip(runner, clip, masks, out, hold_last=True, frame_hook=hook)
    assert len(read_clip(out)["frames"]) == 10 and np.array_equal(seen[9][2], seen[5][2])


def test_mask_folder_with_a_gap_is_an_error(tmp_path, runner):
    make_clip(tmp_path / "in.mp4", 4, SIZE)
    masks = tmp_path / "masks"
    masks.mkdir()
    for i in (0, 1, 3, 4):
        write_mask(masks / f"{i:05d}.png", SIZE, BOX)
    with pytest.raises(UserError, match="missing number 2"):
        run_clip(runner, tmp_path / "in.mp4", masks, tmp_path / "out.mp4")


def test_lossy_mask_video(tmp_path, runner):
    clip, out, mask_clip = tmp_path / "in.mp4", tmp_path / "out.mp4", tmp_path / "mask.mp4"
    make_clip(clip, 8, SIZE)
    holes = []
    m = av.open(str(mask_clip), "w")
    s = m.add_stream("libx264", rate=25, options={"crf": "35"})  # a lossy mask: coding noise on black and white
    s.width, s.height, s.pix_fmt = SIZE[1], SIZE[0], "yuv420p"
    for i in range(8):
        hole = np.zeros(SIZE, bool)
        hole[8:24, 8 + 2 * i : 32 + 2 * i] = True
        holes.append(hole)
        f = av.VideoFrame.from_ndarray(np.repeat(hole[..., None] * np.uint8(255), 3, 2), format="rgb24")
        for p in s.encode(f):
            m.mux(p)
    for p in s.encode():
        m.mux(p)
    m.close()
    seen, hook = _record()
    run_clip(runner, clip, mask_clip, out, frame_hook=hook)
    for i in range(8):
        assert np.array_equal(seen[i][2], holes[i])


def test_mask_of_another_size_is_resized_with_one_warning(tmp_path, runner, caplog):
    make_clip(tmp_path / "in.mp4", 6, SIZE)
    write_mask(tmp_path / "m.png", (24, 32), (4, 12, 8, 20))
    seen, hook = _record()
    with caplog.at_level(logging.WARNING, logger="inpaint"):
        run_clip(runner, tmp_path / "in.mp4", tmp_path / "m.png", tmp_path / "out.mp4", frame_hook=hook)
    assert caplog.text.count("resized the mask") == 1
    assert seen[0][2].shape == SIZE and seen[0][2][8:24, 16:40].all() and seen[0][2].sum() == 16 * 24


def test_odd_size_is_encoded_444_at_its_own_size(tmp_path, runner, caplog):
    clip, out = tmp_path / "odd.mkv", tmp_path / "out.mp4"
    make_clip(clip, 8, (47, 63), pix_fmt="yuv444p")
    write_mask(tmp_path / "m.png", (47, 63), BOX)
    with caplog.at_level(logging.WARNING, logger="inpaint"):
        run_clip(runner, clip, tmp_path / "m.png", out)
    dst = read_clip(out)
    assert dst["size"] == (47, 63) and dst["pix_fmt"] == "yuv444p" and len(dst["frames"]) == 8
    assert "is odd" in caplog.text


@pytest.mark.parametrize("content, expected", [(b"", "cannot read the clip"), (b"\x00\x00\x00\x18ftypmp42 garbage" * 20, "cannot read the clip")])
def test_unreadable_clip_is_a_user_error(tmp_path, runner, content, expected):
    (tmp_path / "bad.mp4").write_bytes(content)
    write_mask(tmp_path / "m.png", SIZE, BOX)
    with pytest.raises(UserError, match=expected):
        run_clip(runner, tmp_path / "bad.mp4", tmp_path / "m.png", tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_clip_without_video_is_a_user_error(tmp_path, runner):
    out = av.open(str(tmp_path / "sound.mkv"), "w")
    a = out.add_stream("pcm_s16le", rate=8000)
    a.layout = "mono"
    f = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
    f.sample_rate, f.pts = 8000, 0
    for p in [*a.encode(f), *a.encode()]:
        out.mux(p)
    out.close()
    write_mask(tmp_path / "m.png", SIZE, BOX)
    with pytest.raises(UserError, match="no video stream"):
        run_clip(runner, tmp_path / "sound.mkv", tmp_path / "m.png", tmp_path / "out.mp4")


def test_a_failure_mid_clip_leaves_no_file_and_keeps_the_old_one(tmp_path, runner):
    make_clip(tmp_path / "in.mp4", 12, SIZE)
    write_mask(tmp_path / "m.png", SIZE, BOX)
    (tmp_path / "out.mp4").write_bytes(b"the user's old result")

    def explode(index, *_):
        if index == 6:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        run_clip(runner, tmp_path / "in.mp4", tmp_path / "m.png", tmp_path / "out.mp4", frame_hook=explode)
    assert (tmp_path / "out.mp4").read_bytes() == b"the user's old result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "m.png", "out.mp4"]


def _with_subtitles(tmp_path: Path, clip: Path) -> Path:
    """clip + an SRT subtitle stream, remuxed into an mkv."""
    (tmp_path / "subs.srt").write_text("1\n00:00:00,000 --> 00:00:00,200\nhello\n\n2\n00:00:00,200 --> 00:00:00,400\nworld\n")
    video, subs = av.open(str(clip)), av.open(str(tmp_path / "subs.srt"))
    out = av.open(str(tmp_path / "subs.mkv"), "w")
    v = out.add_stream_from_template(video.streams.video[0])
    s = out.add_stream_from_template(subs.streams.subtitles[0])
    for src, dst in ((video, v), (subs, s)):
        for p in src.demux(src.streams[0]):
            if p.size:
                p.stream = dst
                out.mux(p)
    for c in (video, subs, out):
        c.close()
    return tmp_path / "subs.mkv"


def test_subtitles_are_copied_or_named_in_a_warning(tmp_path, runner, caplog):
    make_clip(tmp_path / "in.mkv", 10, SIZE)
    clip = _with_subtitles(tmp_path, tmp_path / "in.mkv")
    write_mask(tmp_path / "m.png", SIZE, BOX)
    run_clip(runner, clip, tmp_path / "m.png", tmp_path / "out.mkv")
    kept = av.open(str(tmp_path / "out.mkv"))
    assert [s.codec_context.name for s in kept.streams.subtitles] in (["subrip"], ["srt"])  # both: SubRip text
    assert sum(1 for p in kept.demux(kept.streams.subtitles[0]) if p.size) == 2
    kept.close()
    with caplog.at_level(logging.WARNING, logger="inpaint"):
        run_clip(runner, clip, tmp_path / "m.png", tmp_path / "out.avi")
    assert "left out stream(s) #1 subtitle (s" in caplog.text and ".avi cannot hold them" in caplog.text
    assert len(read_clip(tmp_path / "out.avi")["frames"]) == 10


def test_damaged_data_mid_stream_is_an_error_not_a_shorter_clip(tmp_path, runner):
    clip = tmp_path / "in.mkv"
    make_clip(clip, 60, SIZE)
    data = bytearray(clip.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 400] = np.random.default_rng(0).integers(0, 256, 400, dtype=np.uint8).tobytes()
    clip.write_bytes(bytes(data))
    assert len(read_clip(clip)["frames"]) < 60  # the demuxer skips the damaged part without an error
    write_mask(tmp_path / "m.png", SIZE, BOX)
    with pytest.raises(UserError, match=r"in.mkv: its video data ends at \d\.\d\d s but the stream says 2.40 s"):
        run_clip(runner, clip, tmp_path / "m.png", tmp_path / "out.mkv")
    assert not (tmp_path / "out.mkv").exists()


def test_b_frames_and_ten_bit_input(tmp_path, runner, caplog):
    clip = tmp_path / "b.mp4"
    out = av.open(str(clip), "w")
    v = out.add_stream("libx264", rate=30, options={"preset": "medium", "bf": "3"})  # B-frames: decode order != display
    v.width, v.height, v.pix_fmt = SIZE[1], SIZE[0], "yuv420p10le"
    for i in range(16):
        f = av.VideoFrame.from_ndarray(picture(i, *SIZE), format="rgb24")
        f.pts, f.time_base = i, Fraction(1, 30)
        for p in v.encode(f):
            out.mux(p)
    for p in v.encode():
        out.mux(p)
    out.close()
    write_mask(tmp_path / "m.png", SIZE, BOX)
    with caplog.at_level(logging.WARNING, logger="inpaint"):
        run_clip(runner, clip, tmp_path / "m.png", tmp_path / "out.mp4")
    src, dst = read_clip(clip), read_clip(tmp_path / "out.mp4")
    assert dst["seconds"] == pytest.approx(src["seconds"], abs=1e-6) and len(dst["frames"]) == 16
    assert "10-bit video" in caplog.text and "repaired" not in caplog.text


def test_colour_description_is_kept(tmp_path, runner):
    """A BT.709 clip is converted to RGB with BT.709 and written back with it, tagged as the input was."""
    clip = tmp_path / "hd.mp4"
    out = av.open(str(clip), "w")
    v = out.add_stream("libx264", rate=25, options={"crf": "0", "preset": "ultrafast"})
    v.width, v.height, v.pix_fmt = SIZE[1], SIZE[0], "yuv420p"
    cc = v.codec_context
    cc.colorspace = cc.color_primaries = cc.color_trc = 1  # BT.709
    for i in range(4):
        f = av.VideoFrame.from_ndarray(picture(i, *SIZE), format="rgb24").reformat(format="yuv420p", dst_colorspace=1)
        f.pts = i
        for p in v.encode(f):
            out.mux(p)
    for p in v.encode():
        out.mux(p)
    out.close()
    write_mask(tmp_path / "m.png", SIZE, (0, 0, 0, 0))
    run_clip(runner, clip, tmp_path / "m.png", tmp_path / "out.mp4", crf=0)
    planes = []
    for path in (clip, tmp_path / "out.mp4"):
        c = av.open(str(path))
        f = next(c.decode(video=0))
        cc = c.streams.video[0].codec_context
        assert (f.colorspace, cc.color_primaries, cc.color_trc) == (1, 1, 1)
        planes.append(np.frombuffer(f.planes[0], np.uint8).astype(int))
        c.close()
    assert np.abs(planes[0] - planes[1]).max() <= 2  # luma survives the RGB round trip


def test_truncated_download_is_an_error_not_a_shorter_clip(tmp_path, runner):
    clip = tmp_path / "web.mp4"
    make_clip(clip, 40, SIZE, faststart=True)  # the index comes first: a cut file still opens
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) * 6 // 10])
    write_mask(tmp_path / "m.png", SIZE, BOX)
    with pytest.raises(UserError, match="web.mp4: its video data ends at .* but the stream says 1.60 s"):
        run_clip(runner, clip, tmp_path / "m.png", tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_video_starting_after_the_audio_keeps_its_times(tmp_path, runner):
    clip, out = tmp_path / "late.mkv", tmp_path / "out.mp4"
    make_clip(clip, 10, SIZE, pts=list(range(25, 35)), time_base=Fraction(1, 25), audio="aac")  # video from 1.0 s
    write_mask(tmp_path / "m.png", SIZE, BOX)
    run_clip(runner, clip, tmp_path / "m.png", out)
    src, dst = read_clip(clip), read_clip(out)
    assert dst["seconds"] == pytest.approx(src["seconds"], abs=1e-6) and dst["seconds"][0] == pytest.approx(1.0)
    assert dst["audio_packets"] == src["audio_packets"]
