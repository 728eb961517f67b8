"""The mask sanity checks: a photo given as the mask (IMAGE and MASK swapped), a mask over everything, a mask of
another aspect ratio (also a rotated clip's stored orientation); what must still pass: JPEG-saved and feathered
masks, the same aspect at another size (resized, with a warning naming the picture)."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from inpaint.cli.main import main
from inpaint.errors import UserError
from inpaint.runtime.io import read_mask
from inpaint.runtime.mask_checks import fit_to

REPO = Path(__file__).resolve().parents[2]
PHOTO = REPO / "examples" / "bench.jpg"


def _mask(size=(240, 320)) -> np.ndarray:
    m = np.zeros(size, np.uint8)
    cv2.circle(m, (size[1] // 2, size[0] // 2), size[0] // 4, 255, -1)
    return m


def test_a_photo_as_the_mask_is_refused_naming_the_swap(tmp_path):
    with pytest.raises(UserError, match=r"bench\.jpg: looks like a photo.*swapped.*--force"):
        read_mask(PHOTO)
    assert read_mask(PHOTO, force=True).mean() > 0.98  # forced: what it always was, a hole nearly everywhere


def test_a_mask_over_everything_is_refused_and_forced(tmp_path):
    cv2.imwrite(str(tmp_path / "white.png"), np.full((60, 80), 255, np.uint8))
    with pytest.raises(UserError, match=r"covers 100\.0% of photo\.png.*inverted.*--force"):
        read_mask(tmp_path / "white.png", picture="photo.png")
    assert read_mask(tmp_path / "white.png", force=True).all()
    m = np.full((60, 80), 255, np.uint8)
    m[:5, :10] = 0  # 99 % white: still "nearly all"
    cv2.imwrite(str(tmp_path / "nearly.png"), m)
    with pytest.raises(UserError, match="covers 99.0%"):
        read_mask(tmp_path / "nearly.png")


@pytest.mark.parametrize("kind", ["jpeg50", "feathered", "large"])
def test_real_masks_pass(tmp_path, kind):
    m = _mask()
    if kind == "jpeg50":
        cv2.imwrite(str(tmp_path / "m.jpg"), m, [cv2.IMWRITE_JPEG_QUALITY, 50])
        path = tmp_path / "m.jpg"
    else:
        if kind == "feathered":
            m = cv2.GaussianBlur(m, (0, 0), 8)
        else:  # a big hole, 90 % of the picture, is a real case
            m[:] = 255
            m[:24] = 0
        path = tmp_path / "m.png"
        cv2.imwrite(str(path), m)
    assert 0 < read_mask(path).mean() < 0.98


def test_another_aspect_is_an_error_naming_both_sizes():
    with pytest.raises(UserError, match=r"m\.png: the mask is 320x240 but p\.jpg is 480x640 .*another aspect ratio"):
        fit_to(np.zeros((240, 320), bool), (640, 480), "m.png", "p.jpg")


def test_the_same_aspect_is_resized_with_a_warning_naming_the_picture(caplog):
    hole = np.zeros((667, 1000), bool)
    hole[100:300, 200:500] = True
    with caplog.at_level(logging.WARNING, logger="inpaint"):
        out = fit_to(hole, (2000, 3000), "m.png", "p.jpg")
    assert out.shape == (2000, 3000) and 0.08 < out.mean() < 0.1
    assert "m.png" in caplog.text and "p.jpg is 3000x2000" in caplog.text


def test_run_with_arguments_swapped_exits_2_and_writes_nothing(tmp_path, model_files, capsys):
    cv2.imwrite(str(tmp_path / "mask.png"), _mask())
    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), cv2.resize(cv2.imread(str(PHOTO)), (320, 240)))
    args = ["run", str(tmp_path / "mask.png"), str(photo), "-o", str(tmp_path / "out.png"), "--model", str(model_files["onnx"])]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "swapped" in err and "photo.jpg" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out.png").exists()
    assert main([*args, "--force"]) == 0 and (tmp_path / "out.png").exists()


def test_a_rotated_clip_refuses_a_mask_in_its_stored_orientation(tmp_path, model_files, capsys):
    from tests.runtime.video.clips import make_clip

    make_clip(tmp_path / "phone.mp4", 4, (48, 64), rotation=90)  # stored 64x48, displayed 48x64
    cv2.imwrite(str(tmp_path / "stored.png"), _mask((48, 64)))
    code = main(["run", str(tmp_path / "phone.mp4"), str(tmp_path / "stored.png"), "-o", str(tmp_path / "out.mp4"),
                 "--model", str(model_files["onnx"])])
    err = capsys.readouterr().err
    assert code == 2 and "64x48" in err and "48x64" in err and "another aspect ratio" in err
    assert not (tmp_path / "out.mp4").exists()
