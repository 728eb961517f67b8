"""Mask folders appear whole or not at all; a folder of the user's other files is never replaced."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inpaint.errors import UserError
from inpaint.runtime.masks.output import MaskFolderWriter, mask_name, write_mask


def _mask(v: int = 1) -> np.ndarray:
    m = np.zeros((8, 10), bool)
    m[2:5, 3 : 3 + v] = True
    return m


def test_folder_appears_when_complete(tmp_path):
    out = tmp_path / "masks"
    with MaskFolderWriter(out) as w:
        for i in range(3):
            w.write(i, _mask(i + 1))
        assert not out.exists()  # nothing under the final name yet
    assert sorted(p.name for p in out.iterdir()) == ["00000.png", "00001.png", "00002.png"]
    grey = cv2.imread(str(out / "00002.png"), cv2.IMREAD_UNCHANGED)
    assert grey.dtype == np.uint8 and grey.ndim == 2 and set(np.unique(grey)) == {0, 255}
    assert np.array_equal(grey > 0, _mask(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["masks"]  # no temporary left


def test_a_stopped_run_leaves_nothing(tmp_path):
    out = tmp_path / "masks"
    with pytest.raises(KeyboardInterrupt):
        with MaskFolderWriter(out) as w:
            w.write(0, _mask())
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_old_masks_are_replaced_other_files_refused(tmp_path):
    out = tmp_path / "masks"
    out.mkdir()
    for i in range(5):
        cv2.imwrite(str(out / mask_name(i)), np.zeros((8, 10), np.uint8))
    with MaskFolderWriter(out) as w:
        w.write(0, _mask())
    assert [p.name for p in out.iterdir()] == ["00000.png"]
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="holds other files"):
        MaskFolderWriter(out)
    assert (out / "notes.txt").read_text() == "mine"
    with pytest.raises(UserError, match="is a file"):
        MaskFolderWriter(out / "notes.txt")


def test_one_mask_file(tmp_path):
    write_mask(tmp_path / "m.png", _mask(2))
    assert np.array_equal(cv2.imread(str(tmp_path / "m.png"), cv2.IMREAD_UNCHANGED) == 255, _mask(2))
