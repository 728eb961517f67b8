"""Pairing images, masks and outputs (``inpaint run IMAGE MASK OUTPUT``)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from inpaint.errors import UserError
from inpaint.runtime.jobs import SUPPORTED_EXTENSIONS, Job, list_images, plan_jobs


def _touch(path: Path) -> Path:
    """An empty placeholder: planning never reads the files, it only pairs paths."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ["b.png", "a.jpg", "c.TIFF", "d.webp", "notes.txt", ".a.tmp-123.png"]:
        _touch(tmp_path / "images" / name)
    (tmp_path / "images" / "sub.png").mkdir()  # a folder with an image-like name: not an image
    _touch(tmp_path / "images" / "sub.png" / "deep.png")  # not recursive
    for name in ["a.png", "b.bmp", "c.png", "c.jpg"]:
        _touch(tmp_path / "masks" / name)
    _touch(tmp_path / "one_mask.png")
    return tmp_path


def test_supported_extensions() -> None:
    assert set(SUPPORTED_EXTENSIONS) == {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}


def test_list_images_is_sorted_non_recursive_and_skips_hidden_and_others(tree: Path) -> None:
    assert [p.name for p in list_images(tree / "images")] == ["a.jpg", "b.png", "c.TIFF", "d.webp"]


def test_file_and_file_to_output_file(tree: Path) -> None:
    image, mask = tree / "images" / "a.jpg", tree / "one_mask.png"
    jobs, failures = plan_jobs(image, mask, tree / "out" / "result.png")
    assert jobs == [Job(image=image, mask=mask, output=tree / "out" / "result.png")] and failures == []


def test_file_to_output_folder_keeps_the_input_name(tree: Path) -> None:
    image, mask = tree / "images" / "a.jpg", tree / "one_mask.png"
    (tree / "existing").mkdir()
    for output in [tree / "existing", str(tree / "new") + "/", tree / "noext"]:
        jobs, _ = plan_jobs(image, mask, output)
        assert jobs[0].output == Path(output) / "a.jpg"
    with pytest.raises(UserError, match="OUTPUT must end in one of png"):
        plan_jobs(image, mask, tree / "out.gif")


def test_file_with_mask_folder_matches_by_stem(tree: Path) -> None:
    jobs, failures = plan_jobs(tree / "images" / "b.png", tree / "masks", tree / "out/")
    assert jobs == [Job(tree / "images" / "b.png", tree / "masks" / "b.bmp", tree / "out" / "b.png")]
    jobs, failures = plan_jobs(tree / "images" / "d.webp", tree / "masks", tree / "out/")
    assert jobs == [] and failures == [(tree / "images" / "d.webp", f"no mask named d.* in {tree / 'masks'}")]


def test_folder_with_one_mask(tree: Path) -> None:
    jobs, failures = plan_jobs(tree / "images", tree / "one_mask.png", tree / "out")
    assert failures == []
    assert [(j.image.name, j.mask, j.output) for j in jobs] == [
        (name, tree / "one_mask.png", tree / "out" / name) for name in ["a.jpg", "b.png", "c.TIFF", "d.webp"]
    ]


def test_folder_with_mask_folder_reports_missing_and_ambiguous_masks(tree: Path) -> None:
    jobs, failures = plan_jobs(tree / "images", tree / "masks", tree / "out")
    assert [(j.image.name, j.mask.name, j.output.name) for j in jobs] == [
        ("a.jpg", "a.png", "a.jpg"),
        ("b.png", "b.bmp", "b.png"),
    ]
    assert failures[0][0] == tree / "images" / "c.TIFF" and "several masks named c.*" in failures[0][1]
    assert "c.jpg, c.png" in failures[0][1]
    assert failures[1] == (tree / "images" / "d.webp", f"no mask named d.* in {tree / 'masks'}")


def test_skip_existing_drops_finished_outputs(tree: Path, caplog) -> None:
    _touch(tree / "out" / "b.png")
    jobs, _ = plan_jobs(tree / "images", tree / "one_mask.png", tree / "out")
    assert len(jobs) == 4
    with caplog.at_level(logging.INFO, logger="inpaint"):
        jobs, _ = plan_jobs(tree / "images", tree / "one_mask.png", tree / "out", skip_existing=True)
    assert [j.image.name for j in jobs] == ["a.jpg", "c.TIFF", "d.webp"]
    assert "skipping 1 image" in caplog.text


def test_refuses_to_overwrite_an_input(tree: Path) -> None:
    image, mask = tree / "images" / "b.png", tree / "one_mask.png"
    with pytest.raises(UserError, match="would overwrite the input"):
        plan_jobs(image, mask, image)
    with pytest.raises(UserError, match="would overwrite the input"):
        plan_jobs(image, mask, tree / "images")  # -> images/b.png
    with pytest.raises(UserError, match="would overwrite the input"):
        plan_jobs(tree / "images", mask, tree / "images" / ".." / "images", skip_existing=True)
    with pytest.raises(UserError, match="would overwrite the input"):
        plan_jobs(image, mask, mask)
    os.symlink(image, tree / "link.png")
    with pytest.raises(UserError, match="would overwrite the input"):
        plan_jobs(image, mask, tree / "link.png")


def test_user_errors_for_bad_arguments(tree: Path) -> None:
    with pytest.raises(UserError, match="missing.png: no such image"):
        plan_jobs(tree / "missing.png", tree / "one_mask.png", tree / "out.png")
    with pytest.raises(UserError, match="nomask: no such mask"):
        plan_jobs(tree / "images", tree / "nomask", tree / "out")
    (tree / "empty").mkdir()
    with pytest.raises(UserError, match="no images"):
        plan_jobs(tree / "empty", tree / "one_mask.png", tree / "out")
    with pytest.raises(UserError, match="OUTPUT must be a folder"):
        plan_jobs(tree / "images", tree / "one_mask.png", tree / "out.png")
    with pytest.raises(UserError, match="MASK is the IMAGE folder"):
        plan_jobs(tree / "images", tree / "images", tree / "out")
