"""Logs without a terminal: plain progress lines at most every 10 s; ``-v`` says a clip's strategy once; a
truncated clip is refused before any frame is processed; --debug / -v after the command."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest

from inpaint.cli.main import _global_flags_first, main
from inpaint.cli.progress import PLAIN_EVERY_S, PlainProgress, progress
from tests.runtime.video.clips import make_clip


class _Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_plain_progress_prints_at_most_every_10_s():
    out, clock = io.StringIO(), _Clock()
    bar = PlainProgress(out, clock=clock)
    task = bar.add_task("clip.mp4", total=270, unit="frames")
    for _ in range(120):  # 120 frames over 57 s: a line at 10, 20, ... 50 s, never two within 10 s
        clock.t += 57 / 120
        bar.advance(task)
    lines = out.getvalue().splitlines()
    assert PLAIN_EVERY_S == 10 and len(lines) == 5
    assert lines[-1].startswith("clip.mp4: ") and " frames, 2.1 fps, eta " in lines[-1]
    done, rest = lines[-1].split(": ")[1].split(" ")[0].split("/")
    eta = float(lines[-1].rsplit("eta ", 1)[1].split(" ")[0])
    assert rest == "270" and eta == pytest.approx((270 - int(done)) / 2.105, abs=1.5)


def test_plain_progress_without_a_total_and_for_images():
    out, clock = io.StringIO(), _Clock()
    bar = PlainProgress(out, clock=clock)
    task = bar.add_task("inpainting", unit="images")
    clock.t = 11
    bar.advance(task, 22)
    assert out.getvalue().strip() == "inpainting: 22 images, 2.0 images/s"


def test_no_terminal_gets_plain_lines():
    assert isinstance(progress(io.StringIO()), PlainProgress)


def test_global_flags_may_follow_the_command():
    assert _global_flags_first(["run", "a", "b", "--debug", "-v"]) == ["--debug", "-v", "run", "a", "b"]
    assert _global_flags_first(["run", "--", "--debug"]) == ["run", "--", "--debug"]  # after -- it is a file name


def _mask(path: Path, size) -> None:
    m = np.zeros(size, np.uint8)
    m[10:30, 20:40] = 255
    cv2.imwrite(str(path), m)


def test_a_truncated_clip_is_refused_before_its_frames(tmp_path, model_files, capsys, monkeypatch):
    make_clip(tmp_path / "full.mp4", 60, (48, 64), faststart=True)
    data = (tmp_path / "full.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 2])  # the index says 60 frames, the data stops
    _mask(tmp_path / "m.png", (48, 64))
    import inpaint.runtime.video.pipeline as pipeline

    ran = []
    monkeypatch.setattr(pipeline, "inpaint_arrays", lambda *a, **k: ran.append(1))
    code = main(["run", str(tmp_path / "cut.mp4"), str(tmp_path / "m.png"), "-o", str(tmp_path / "out.mp4"),
                 "--model", str(model_files["onnx"])])
    err = capsys.readouterr().err
    assert code == 2 and "its video data ends at" in err and not ran and not (tmp_path / "out.mp4").exists()


def test_verbose_says_a_clips_strategy_once(tmp_path, model_files, caplog):
    make_clip(tmp_path / "c.mp4", 6, (48, 64))
    _mask(tmp_path / "m.png", (48, 64))
    assert main(["run", str(tmp_path / "c.mp4"), str(tmp_path / "m.png"), "-o", str(tmp_path / "o.mp4"),
                 "--model", str(model_files["onnx"]), "-v"]) == 0
    said = [r.getMessage() for r in caplog.records if "strategy" in r.getMessage()]
    assert len(said) == 1, said
