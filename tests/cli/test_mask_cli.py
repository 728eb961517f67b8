"""``inpaint mask``: photos (box, brush, EXIF orientation), clips (key mask / box -> every frame, display
rotation, straight into ``inpaint run``), bad input (exit 2, nothing written), a stopped run."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from inpaint.cli.main import main
from inpaint.runtime.processing import dilate_mask
from tests.runtime.masks.scenes import iou, moving, photo, write_lossless
from tests.runtime.video.clips import read_clip


def _png(path: Path, mask: np.ndarray) -> None:
    assert cv2.imwrite(str(path), mask.astype(np.uint8) * 255)


def _read(path: Path) -> np.ndarray:
    grey = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert grey is not None and grey.dtype == np.uint8 and grey.ndim == 2
    return grey > 0


def _box(mask: np.ndarray, margin: int = 4) -> str:
    ys, xs = np.nonzero(mask)
    return f"{xs.min() - margin},{ys.min() - margin},{xs.max() - xs.min() + 1 + 2 * margin},{ys.max() - ys.min() + 1 + 2 * margin}"


def _photo(tmp_path: Path):
    rgb, truth = photo()
    assert cv2.imwrite(str(tmp_path / "photo.png"), rgb[:, :, ::-1])
    return truth


def test_photo_box(tmp_path, capsys):
    truth = _photo(tmp_path)
    assert main(["mask", str(tmp_path / "photo.png"), "--box", _box(truth), "-o", str(tmp_path / "m0.png"), "--dilate", "0"]) == 0
    exact = _read(tmp_path / "m0.png")
    assert iou(exact, truth) > 0.95
    assert main(["mask", str(tmp_path / "photo.png"), "--box", _box(truth), "-o", str(tmp_path / "m.png")]) == 0
    assert np.array_equal(_read(tmp_path / "m.png"), dilate_mask(exact, 3))  # the default --dilate is 3 px
    assert "px of" in capsys.readouterr().out


def test_photo_scribble(tmp_path):
    truth = _photo(tmp_path)
    rough = cv2.dilate(truth.view(np.uint8), np.ones((13, 13), np.uint8)) > 0
    _png(tmp_path / "rough.png", rough)
    assert main(["mask", str(tmp_path / "photo.png"), "--scribble", str(tmp_path / "rough.png"), "-o",
                 str(tmp_path / "out") + "/", "--dilate", "0"]) == 0
    assert iou(_read(tmp_path / "out" / "photo.png"), truth) > 0.95 > iou(rough, truth)


def test_photo_exif_orientation(tmp_path):
    """A phone JPEG stored landscape, shown portrait (EXIF orientation 6): the box and the mask are portrait."""
    rgb, truth = photo((160, 120))  # as displayed: portrait
    stored = np.ascontiguousarray(np.rot90(rgb, 1))  # turned 90 degrees clockwise, it is shown upright
    ok, buf = cv2.imencode(".jpg", stored[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 98])
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0)
    app1 = b"Exif\x00\x00" + tiff + struct.pack(">I", 0)
    data = buf.tobytes()
    (tmp_path / "phone.jpg").write_bytes(data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:])
    assert main(["mask", str(tmp_path / "phone.jpg"), "--box", _box(truth), "-o", str(tmp_path / "m.png"), "--dilate", "0"]) == 0
    found = _read(tmp_path / "m.png")
    assert found.shape == truth.shape and iou(found, truth) > 0.9


@pytest.fixture
def clip(tmp_path):
    frames, truths = moving()
    write_lossless(tmp_path / "clip.mkv", frames)
    return tmp_path / "clip.mkv", truths


def _folder(out: Path, n: int) -> list[np.ndarray]:
    assert sorted(p.name for p in out.iterdir()) == [f"{i:05d}.png" for i in range(n)]
    return [_read(out / f"{i:05d}.png") for i in range(n)]


def test_clip_from_a_key_mask(clip, tmp_path, capsys):
    path, truths = clip
    _png(tmp_path / "key.png", truths[4])
    assert main(["mask", str(path), "--from", str(tmp_path / "key.png"), "--frame", "4", "-o", str(tmp_path / "masks"),
                 "--dilate", "0"]) == 0
    masks = _folder(tmp_path / "masks", len(truths))
    assert np.array_equal(masks[4], truths[4])  # the key frame's own mask, as given
    assert all(not masks[j].any() for j, t in enumerate(truths) if not t.any())  # empty while it is gone
    assert np.mean([iou(m, t) for m, t in zip(masks, truths)]) > 0.85
    # 7 frames without the object; coming back in it is re-found once about half of it is in view (frame 20 of the
    # 598 px object: 337 px), so frames 18-19 (16 and 155 px at the edge) may be empty too
    empty = sum(not m.any() for m in masks)
    assert 7 <= empty <= 9 and all(m.any() for m, t in zip(masks, truths) if t.sum() > 300)
    assert f"24 masks ({empty} empty" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mkv", "key.png", "masks"]  # no temporary left


def test_clip_box_on_frame_k(clip, tmp_path):
    path, truths = clip
    assert main(["mask", str(path), "--box", _box(truths[20]), "--frame", "20", "-o", str(tmp_path / "masks"), "--dilate", "0"]) == 0
    masks = _folder(tmp_path / "masks", len(truths))
    assert iou(masks[20], truths[20]) > 0.9 and iou(masks[2], truths[2]) > 0.85


def test_clip_display_rotation(tmp_path):
    """Stored landscape with a 90 degree display rotation: masks are drawn and written as the clip is shown."""
    frames, truths = moving(n=6, size=(96, 72), speed=4)  # as displayed: portrait
    write_lossless(tmp_path / "phone.mkv", [np.ascontiguousarray(np.rot90(f, -1)) for f in frames], rotation=90)
    _png(tmp_path / "key.png", truths[2])
    assert main(["mask", str(tmp_path / "phone.mkv"), "--from", str(tmp_path / "key.png"), "--frame", "2", "-o",
                 str(tmp_path / "masks"), "--dilate", "0"]) == 0
    masks = _folder(tmp_path / "masks", 6)
    assert masks[0].shape == (96, 72) and all(iou(m, t) > 0.9 for m, t in zip(masks, truths))


def test_masks_go_straight_into_run(clip, tmp_path, model_files):
    path, truths = clip
    _png(tmp_path / "key.png", truths[4])
    assert main(["mask", str(path), "--from", str(tmp_path / "key.png"), "--frame", "4", "-o", str(tmp_path / "masks")]) == 0
    code = main(["run", str(path), str(tmp_path / "masks"), "-o", str(tmp_path / "out.mkv"), "--model",
                 str(model_files["onnx"]), "--codec", "ffv1"])
    assert code == 0
    src, out = read_clip(path)["frames"], read_clip(tmp_path / "out.mkv")["frames"]
    assert len(out) == len(truths)
    for j in (2, 12):  # the object's frame is changed where it was, an empty mask's frame is not
        keep = ~dilate_mask(_read(tmp_path / "masks" / f"{j:05d}.png"), 1)
        assert np.array_equal(src[j][keep], out[j][keep])
    assert not np.array_equal(src[2][truths[2]], out[2][truths[2]]) and np.array_equal(src[12], out[12])


def _bad_cases(tmp_path: Path, clip_path: Path, truths) -> dict:
    _photo(tmp_path)
    _png(tmp_path / "empty.png", np.zeros_like(truths[0]))
    _png(tmp_path / "full.png", np.ones_like(truths[0]))
    _png(tmp_path / "key.png", truths[4])
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a clip")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n nope")
    p, c = str(tmp_path / "photo.png"), str(clip_path)
    return {
        "box outside the photo": ([p, "--box", "500,500,20,20"], "outside the 160x120 picture"),
        "box outside the frame": ([c, "--box", "-90,0,40,40"], "outside the 96x72 picture"),
        "empty key mask": ([c, "--from", str(tmp_path / "empty.png")], "key mask is empty"),
        "full key mask": ([c, "--from", str(tmp_path / "full.png")], "covers the whole frame"),
        "frame past the end": ([c, "--from", str(tmp_path / "key.png"), "--frame", "24"], "has 24 frames"),
        "unreadable clip": ([str(tmp_path / "broken.mp4"), "--box", "1,1,5,5"], "cannot read the clip"),
        "unreadable photo": ([str(tmp_path / "broken.png"), "--box", "1,1,5,5"], "cannot read image"),
        "missing input": ([str(tmp_path / "nope.jpg"), "--box", "1,1,5,5"], "no such file"),
        "no key": ([p], "exactly one of"),
        "two keys": ([c, "--box", "1,1,5,5", "--from", str(tmp_path / "key.png")], "got --box and --from"),
        "--from on a photo": ([p, "--from", str(tmp_path / "key.png")], "--from is for clips"),
        "empty brush": ([p, "--scribble", str(tmp_path / "empty.png")], "brush mask is empty"),
        "bad box text": ([p, "--box", "1,2,3"], "X,Y,W,H"),
    }


@pytest.mark.parametrize("case", ["box outside the photo", "box outside the frame", "empty key mask", "full key mask",
                                  "frame past the end", "unreadable clip", "unreadable photo", "missing input",
                                  "no key", "two keys", "--from on a photo", "empty brush", "bad box text"])
def test_bad_input_exits_2_and_writes_nothing(case, clip, tmp_path, capsys):
    args, message = _bad_cases(tmp_path, *clip)[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / ("out" if Path(args[0]).suffix in (".mkv", ".mp4") else "out.png")
    assert main(["mask", *args, "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and err.startswith("error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no temporary left


def test_a_stopped_run_leaves_no_masks(clip, tmp_path, monkeypatch):
    from inpaint.runtime.masks import track

    path, truths = clip
    _png(tmp_path / "key.png", truths[4])
    real, calls = track.MaskTracker.step, []

    def stop_after_three(self, rgb):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return real(self, rgb)

    monkeypatch.setattr(track.MaskTracker, "step", stop_after_three)
    assert main(["mask", str(path), "--from", str(tmp_path / "key.png"), "--frame", "4", "-o", str(tmp_path / "masks")]) == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mkv", "key.png"]
