"""Stopping ``inpaint run`` with SIGTERM / SIGINT in a real process: within seconds, no temporary file left,
finished outputs whole, "interrupted: N of M written", exit 143 / 130, and ``--skip-existing`` resumes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.runtime.video.clips import make_clip

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _start(*args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "inpaint.cli.main", "run", *map(str, args)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def _photos(folder: Path, n: int, size=(480, 640)) -> None:
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        cv2.imwrite(str(folder / f"p{i:02d}.png"), rng.integers(0, 255, (*size, 3), np.uint8))


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stopped_folder_leaves_whole_outputs_and_resumes(tmp_path, sig, code):
    _photos(tmp_path / "in", 24)
    hole = np.zeros((480, 640), np.uint8)
    hole[100:300, 200:400] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), hole)
    out = tmp_path / "out"
    proc = _start(tmp_path / "in", tmp_path / "mask.png", "-o", f"{out}/")
    _wait_for(lambda: out.is_dir() and any(p.suffix == ".png" and not p.name.startswith(".") for p in out.iterdir()))
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - sent < 10, "took more than seconds to stop"
    assert proc.returncode == code, err
    written = sorted(p.name for p in out.iterdir())
    assert not [n for n in written if n.startswith(".")], f"temporary files left: {written}"
    assert 0 < len(written) < 24
    for name in written:  # every finished output is whole
        assert cv2.imread(str(out / name)).shape == (480, 640, 3)
    match = re.search(r"interrupted: (\d+) of (\d+) written", err)
    assert match and int(match.group(2)) == 24 and int(match.group(1)) == len(written), err

    done = {n: (out / n).stat().st_mtime_ns for n in written}
    proc = _start(tmp_path / "in", tmp_path / "mask.png", "-o", f"{out}/", "--skip-existing")
    stdout, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert f"{24 - len(written)} written, 0 failed" in stdout
    assert len(list(out.iterdir())) == 24
    assert all((out / n).stat().st_mtime_ns == t for n, t in done.items())  # the finished ones were left alone


def test_a_stopped_clip_leaves_no_temporary_file(tmp_path):
    make_clip(tmp_path / "clip.mp4", 240, (240, 320))
    hole = np.zeros((240, 320), np.uint8)
    hole[60:180, 80:240] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), hole)
    out = tmp_path / "out"
    out.mkdir()
    proc = _start(tmp_path / "clip.mp4", tmp_path / "mask.png", "-o", out / "clip.mp4")
    _wait_for(lambda: any(p.name.startswith(".") for p in out.iterdir()))  # the encoder's temporary file
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert list(out.iterdir()) == [], "a temporary or half-written clip was left"
    assert "interrupted: 0 of 1 written" in err
