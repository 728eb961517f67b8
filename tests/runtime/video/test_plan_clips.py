"""Planning with clips: folders mixing photos and clips, clip masks in a MASK folder, --shard, --skip-existing."""

from __future__ import annotations

from pathlib import Path

import pytest

from inpaint.errors import UserError
from inpaint.runtime.jobs import parse_shard, plan_jobs


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    for name in ["a.png", "b.mp4", "c.MOV", "d.jpg", "e.mkv", "f.avi", "g.webm", ".h.tmp-1.mp4", "notes.txt"]:
        _touch(tmp_path / "in" / name)
    _touch(tmp_path / "masks" / "a.png")        # photo mask
    _touch(tmp_path / "masks" / "b.png")        # static mask of a clip
    _touch(tmp_path / "masks" / "c" / "00000.png")  # per-frame folder
    _touch(tmp_path / "masks" / "e.mp4")        # mask video
    _touch(tmp_path / "masks" / "f.png")        # f: two candidates
    _touch(tmp_path / "masks" / "f" / "00000.png")
    return tmp_path


def test_folder_mixing_photos_and_clips(mixed: Path) -> None:
    jobs, failures = plan_jobs(mixed / "in", mixed / "masks", str(mixed / "out") + "/")
    assert [(j.image.name, j.mask.relative_to(mixed / "masks").as_posix(), j.is_clip) for j in jobs] == [
        ("a.png", "a.png", False), ("b.mp4", "b.png", True), ("c.MOV", "c", True), ("e.mkv", "e.mp4", True),
    ]
    assert [j.output for j in jobs] == [mixed / "out" / n for n in ("a.png", "b.mp4", "c.MOV", "e.mkv")]
    reasons = {p.name: r for p, r in failures}
    assert set(reasons) == {"d.jpg", "f.avi", "g.webm"}
    assert "several masks named f.*" in reasons["f.avi"] and "no mask named g.* or folder g/" in reasons["g.webm"]


def test_one_clip_takes_a_folder_not_named_after_it_as_its_frames(mixed: Path) -> None:
    jobs, failures = plan_jobs(mixed / "in" / "g.webm", mixed / "masks" / "c", mixed / "out.webm")
    assert jobs[0].mask == mixed / "masks" / "c" and failures == []
    jobs, _ = plan_jobs(mixed / "in" / "b.mp4", mixed / "masks", mixed / "out.mkv")
    assert jobs[0].mask == mixed / "masks" / "b.png"


def test_clip_and_photo_outputs_must_match_their_input(mixed: Path) -> None:
    with pytest.raises(UserError, match="b.mp4 is a clip, so OUTPUT must end in one of mp4"):
        plan_jobs(mixed / "in" / "b.mp4", mixed / "masks" / "b.png", mixed / "out.png")
    with pytest.raises(UserError, match="a.png is an image"):
        plan_jobs(mixed / "in" / "a.png", mixed / "masks" / "a.png", mixed / "out.mp4")


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_shards_cover_every_input_exactly_once(mixed: Path, n: int) -> None:
    everything, missing = plan_jobs(mixed / "in", mixed / "masks", mixed / "out")
    seen = []
    for k in range(1, n + 1):
        jobs, failures = plan_jobs(mixed / "in", mixed / "masks", mixed / "out", shard=parse_shard(f"{k}/{n}"))
        seen += [j.image for j in jobs] + [p for p, _ in failures]
        assert abs(len(jobs) + len(failures) - 7 / n) < 1  # equal shares (7 inputs)
    assert sorted(seen) == sorted([j.image for j in everything] + [p for p, _ in missing])
    assert len(seen) == len(set(seen)) == 7


def test_shard_then_skip_existing_finishes_what_was_left(mixed: Path) -> None:
    first, _ = plan_jobs(mixed / "in", mixed / "masks", mixed / "out", shard=(1, 2))
    _touch(first[0].output)
    again, _ = plan_jobs(mixed / "in", mixed / "masks", mixed / "out", shard=(1, 2), skip_existing=True)
    assert [j.image for j in again] == [j.image for j in first[1:]]


@pytest.mark.parametrize("text", ["0/4", "5/4", "1", "a/b", "1/0", "1/2/3"])
def test_bad_shard_is_a_user_error(text: str) -> None:
    with pytest.raises(UserError, match=f"--shard {text}: expected K/N"):
        parse_shard(text)
