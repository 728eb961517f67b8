"""``inpaint run`` on clips with a real (tiny) ONNX model: one clip, a folder mixing photos and clips with a
broken clip, a mask folder that is too short, --shard, --skip-existing, --temporal with a lossless codec."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from inpaint.cli.main import main
from tests.runtime.video.clips import make_clip, read_clip

SIZE = (48, 64)


def _mask(path: Path, size=SIZE) -> np.ndarray:
    hole = np.zeros(size, np.uint8)
    hole[10:26, 20:44] = 255
    assert cv2.imwrite(str(path), hole)
    return hole > 0


def _args(model_files, *args) -> list[str]:
    return ["run", *map(str, args), "--model", str(model_files["onnx"])]


def test_one_clip_end_to_end(tmp_path, model_files, capsys):
    make_clip(tmp_path / "clip.mp4", 10, SIZE, audio="aac")
    _mask(tmp_path / "mask.png")
    code = main([*_args(model_files, tmp_path / "clip.mp4", tmp_path / "mask.png", "-o", tmp_path / "out.mp4"), "--batch", "4"])
    assert code == 0 and "1 written, 0 failed" in capsys.readouterr().out
    src, dst = read_clip(tmp_path / "clip.mp4"), read_clip(tmp_path / "out.mp4")
    assert len(dst["frames"]) == 10 and dst["seconds"] == pytest.approx(src["seconds"], abs=1e-6)
    assert dst["audio_packets"] == src["audio_packets"] and dst["codec"] == "h264" and dst["pix_fmt"] == "yuv420p"


def test_temporal_with_a_lossless_codec_keeps_known_pixels_in_the_file(tmp_path, model_files):
    make_clip(tmp_path / "clip.mkv", 8, SIZE, codec="ffv1", pix_fmt="bgr0")
    hole = _mask(tmp_path / "mask.png")
    assert main([*_args(model_files, tmp_path / "clip.mkv", tmp_path / "mask.png", "-o", tmp_path / "out.mkv"),
                 "--temporal", "--codec", "ffv1"]) == 0
    src, dst = read_clip(tmp_path / "clip.mkv"), read_clip(tmp_path / "out.mkv")
    assert len(dst["frames"]) == 8
    for a, b in zip(src["frames"], dst["frames"]):
        assert np.array_equal(a[~hole], b[~hole]) and not np.array_equal(a[hole], b[hole])


def test_folder_mixing_photos_and_clips_goes_on_past_a_broken_clip(tmp_path, model_files, capsys):
    images, masks, out = tmp_path / "in", tmp_path / "masks", tmp_path / "out"
    for d in (images, masks):
        d.mkdir()
    cv2.imwrite(str(images / "photo.png"), np.full((*SIZE, 3), 90, np.uint8))
    make_clip(images / "good.mkv", 8, SIZE)
    make_clip(images / "cut.mp4", 8, SIZE)
    data = (images / "cut.mp4").read_bytes()
    (images / "cut.mp4").write_bytes(data[: len(data) // 2])  # a download that stopped half way
    (images / "empty.avi").write_bytes(b"")
    for stem in ("photo", "good", "cut", "empty"):
        _mask(masks / f"{stem}.png")
    code = main(_args(model_files, images, masks, "-o", str(out) + "/"))
    captured = capsys.readouterr()
    assert code == 1 and "2 written, 2 failed" in captured.out
    assert "cut.mp4: cannot read the clip" in captured.err and "empty.avi: cannot read the clip" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["good.mkv", "photo.png"]  # no half file, no temporary file
    assert len(read_clip(out / "good.mkv")["frames"]) == 8


def test_mask_folder_shorter_than_the_clip_exits_2_and_writes_nothing(tmp_path, model_files, capsys):
    make_clip(tmp_path / "clip.mp4", 10, SIZE)
    (tmp_path / "masks").mkdir()
    for i in range(7):
        _mask(tmp_path / "masks" / f"{i:05d}.png")
    (tmp_path / "out").mkdir()
    code = main(_args(model_files, tmp_path / "clip.mp4", tmp_path / "masks", "-o", tmp_path / "out" / "clip.mp4"))
    err = capsys.readouterr().err
    assert code == 2 and "7 masks but clip.mp4 has 10 frames" in err and len(err.strip().splitlines()) == 1
    assert list((tmp_path / "out").iterdir()) == []
    code = main([*_args(model_files, tmp_path / "clip.mp4", tmp_path / "masks", "-o", tmp_path / "out" / "clip.mp4"),
                 "--mask-hold-last"])
    assert code == 0 and len(read_clip(tmp_path / "out" / "clip.mp4")["frames"]) == 10


def test_shards_and_skip_existing_on_clips(tmp_path, model_files, capsys):
    images, out = tmp_path / "in", tmp_path / "out"
    images.mkdir()
    for name in ("a.mp4", "b.mkv", "c.mp4"):
        make_clip(images / name, 4, SIZE)
    _mask(tmp_path / "mask.png")
    for k in (1, 2):
        assert main([*_args(model_files, images, tmp_path / "mask.png", "-o", out), "--shard", f"{k}/2"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "b.mkv", "c.mp4"]
    capsys.readouterr()
    assert main([*_args(model_files, images, tmp_path / "mask.png", "-o", out), "--skip-existing"]) == 0
    assert "0 written, 0 failed" in capsys.readouterr().out
    assert main([*_args(model_files, images, tmp_path / "mask.png", "-o", out), "--shard", "3/2"]) == 2


def test_clip_without_torch(tmp_path, model_files):
    from tests.cli.test_run_cli import _no_torch

    make_clip(tmp_path / "clip.mp4", 4, SIZE)
    _mask(tmp_path / "mask.png")
    proc = _no_torch("run", str(tmp_path / "clip.mp4"), str(tmp_path / "mask.png"), "-o", str(tmp_path / "out.mp4"),
                     "--model", str(model_files["onnx"]), "--temporal")
    assert proc.returncode == 0, proc.stderr
    assert len(read_clip(tmp_path / "out.mp4")["frames"]) == 4


def test_eval_video_reports_the_flicker_figure(tmp_path, model_files, capsys):
    import json

    make_clip(tmp_path / "clip.mp4", 6, SIZE)
    _mask(tmp_path / "mask.png")
    code = main(["eval", str(model_files["onnx"]), "--video", str(tmp_path / "clip.mp4"), "--masks", str(tmp_path / "mask.png"),
                 "--json", str(tmp_path / "f.json")])
    assert code == 0 and "clip.mp4: 6 frames" in capsys.readouterr().out
    row = json.loads((tmp_path / "f.json").read_text())
    assert row["frames"] == 6 and row["frame_by_frame"] >= 0 and row["temporal"] >= 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "f.json", "mask.png"]


def test_video_mode_switch_and_its_errors(tmp_path, model_files, capsys):
    make_clip(tmp_path / "clip.mkv", 6, SIZE, codec="ffv1", pix_fmt="bgr0")
    hole = _mask(tmp_path / "mask.png")
    def run(out, *more):
        return main([*_args(model_files, tmp_path / "clip.mkv", tmp_path / "mask.png", "-o", tmp_path / out), *more])

    assert run("frames.mkv", "--video-mode", "frames", "--codec", "ffv1") == 0
    assert run("prop.mkv", "--codec", "ffv1") == 0  # the default: propagate
    src, frames, prop = (read_clip(tmp_path / n)["frames"] for n in ("clip.mkv", "frames.mkv", "prop.mkv"))
    assert len(frames) == len(prop) == 6
    assert all(np.array_equal(a[~hole], b[~hole]) and np.array_equal(a[~hole], c[~hole]) for a, b, c in zip(src, frames, prop))
    assert any(not np.array_equal(b[hole], c[hole]) for b, c in zip(frames, prop))  # the modes differ in the hole
    capsys.readouterr()
    assert run("x.mkv", "--video-mode", "flow") == 2
    assert "--video-mode flow: use one of propagate, temporal, frames" in capsys.readouterr().err
    assert run("x.mkv", "--video-mode", "frames", "--temporal") == 2
    assert not (tmp_path / "x.mkv").exists()


def test_eval_video_with_the_clean_clip_prints_every_mode(tmp_path, model_files, capsys):
    import json

    make_clip(tmp_path / "clean.mkv", 6, SIZE, codec="ffv1", pix_fmt="bgr0")
    _mask(tmp_path / "mask.png")
    code = main(["eval", str(model_files["onnx"]), "--video", str(tmp_path / "clean.mkv"), "--masks", str(tmp_path / "mask.png"),
                 "--clean", str(tmp_path / "clean.mkv"), "--json", str(tmp_path / "f.json")])
    out = capsys.readouterr().out
    assert code == 0 and "hole PSNR" in out and "propagate" in out
    row = json.loads((tmp_path / "f.json").read_text())
    assert set(row["modes"]) == {"frames", "temporal", "propagate"}
    for m in row["modes"].values():
        assert 5 < m["hole_psnr"] < 100 and m["temporal_error"] >= 0 and m["inferred"] <= 6
    assert row["modes"]["frames"]["inferred"] == 6
    make_clip(tmp_path / "short.mkv", 4, SIZE, codec="ffv1", pix_fmt="bgr0")
    assert main(["eval", str(model_files["onnx"]), "--video", str(tmp_path / "clean.mkv"), "--masks", str(tmp_path / "mask.png"),
                 "--clean", str(tmp_path / "short.mkv")]) == 2
