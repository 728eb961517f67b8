"""The messages a user reads: bad files, unknown engines, devices, the order of the summary, help placeholders,
``--quality``, and the distribution name every install hint uses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inpaint.cli.main import main
from inpaint.runtime.file_kinds import why_undecodable

REPO = Path(__file__).resolve().parents[2]
JPEG = (REPO / "examples" / "bench.jpg").read_bytes()


def _files(tmp_path: Path) -> tuple[Path, Path]:
    img = cv2.resize(cv2.imread(str(REPO / "examples" / "bench.jpg")), (64, 48))
    cv2.imwrite(str(tmp_path / "photo.png"), img)
    m = np.zeros((48, 64), np.uint8)
    m[10:30, 20:40] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), m)
    return tmp_path / "photo.png", tmp_path / "mask.png"


@pytest.mark.parametrize("data, says", [
    (JPEG[: len(JPEG) // 2], "a truncated JPEG file"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "a truncated PNG file"),
    (b"hello, not an image", "not an image format this reads; give a png/jpg"),
    (b"", "empty file"),
])
def test_why_a_file_does_not_decode(data, says):
    assert why_undecodable(np.frombuffer(data, np.uint8)).startswith(says)


def test_a_truncated_jpeg_is_named_as_such(tmp_path, model_files, capsys):
    _, mask = _files(tmp_path)
    (tmp_path / "cut.jpg").write_bytes(JPEG[: len(JPEG) // 2])
    assert main(["run", str(tmp_path / "cut.jpg"), str(mask), "-o", str(tmp_path / "o.png"), "--model", str(model_files["onnx"])]) == 2
    err = capsys.readouterr().err
    assert "cut.jpg: cannot read image (a truncated JPEG file" in err and "give a png" not in err


def test_libjpeg_warnings_do_not_leak_and_are_said_once(tmp_path, model_files, capfd, caplog):
    damaged = bytearray(JPEG)
    damaged[len(JPEG) // 2 : len(JPEG) // 2 + 50] = b"\x00" * 50
    (tmp_path / "damaged.jpg").write_bytes(bytes(damaged))
    m = np.zeros((360, 480), np.uint8)
    m[100:200, 100:200] = 255
    cv2.imwrite(str(tmp_path / "m.png"), m)
    assert main(["run", str(tmp_path / "damaged.jpg"), str(tmp_path / "m.png"), "-o", str(tmp_path / "o.png"),
                 "--model", str(model_files["onnx"])]) == 0
    assert "Corrupt JPEG data" not in capfd.readouterr().err  # not libjpeg's raw line on the terminal
    said = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert len(said) == 1 and "damaged.jpg" in said[0] and "Corrupt JPEG data" in said[0]


def test_unknown_engine_reads_cleanly(tmp_path, capsys):
    photo, mask = _files(tmp_path)
    assert main(["run", str(photo), str(mask), "-o", str(tmp_path / "o.png"), "--engine", "onx"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --engine onx: unknown engine; did you mean 'onnx'? choose one of auto, trt, onnx, torch")


def test_cuda_without_onnxruntime_gpu_does_not_say_export_again(tmp_path, capsys):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    photo, mask = _files(tmp_path)
    assert main(["run", str(photo), str(mask), "-o", str(tmp_path / "o.png"), "--device", "cuda"]) == 2
    err = capsys.readouterr().err
    assert "onnxruntime-gpu" in err and "export" not in err


def test_debug_and_verbose_after_the_command(tmp_path, capsys):
    photo, mask = _files(tmp_path)
    assert main(["run", str(photo), str(mask), "-o", str(tmp_path / "o.png"), "--engine", "nope", "--debug", "-v"]) == 2
    assert "unknown engine" in capsys.readouterr().err


def test_a_single_bad_photo_and_a_single_bad_clip_exit_alike(tmp_path, model_files, capsys):
    _, mask = _files(tmp_path)
    (tmp_path / "bad.png").write_bytes(b"not a png")
    (tmp_path / "bad.mp4").write_bytes(b"not a clip")
    codes = [main(["run", str(tmp_path / name), str(mask), "-o", str(tmp_path / f"out{Path(name).suffix}"),
                   "--model", str(model_files["onnx"])]) for name in ("bad.png", "bad.mp4")]
    err = capsys.readouterr().err.strip().splitlines()
    assert codes == [2, 2] and len(err) == 2 and all(line.startswith("error: ") for line in err)


def test_the_summary_comes_after_the_failures(tmp_path, model_files):
    folder = tmp_path / "in"
    folder.mkdir()
    photo, mask = _files(tmp_path)
    (folder / "a.png").write_bytes(photo.read_bytes())
    (folder / "b.png").write_bytes(b"broken")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "inpaint.cli.main", "run", str(folder), str(mask), "-o", str(tmp_path / "out/"),
                           "--model", str(model_files["onnx"])], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(("failed:", "1 written"))]
    assert proc.returncode == 1 and lines[0].startswith("failed: ") and "b.png" in lines[0]
    assert lines[-1].startswith("1 written, 1 failed")


@pytest.mark.parametrize("command", [["run"], ["export"], ["eval"], ["bench"], ["doctor"], ["convert", "madf"],
                                     ["train", "madf"], ["train", "mae"], ["train", "far"], ["export-texture"]])
def test_help_shows_placeholders_a_person_types(command, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert main([*command, "--help"]) == 0
    text = capsys.readouterr().out
    assert not re.search(r"<(bool|int|float|str|path|list\[|float,)", text), text  # Typer's type names


def test_defaults_are_shown_where_typer_shows_them(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for default in ("[default: (18)]", "[default: (medium)]", "[default: (the bundled model)]", "[default: (by the output's suffix)]"):
        assert default in text
    assert "mpeg4 (MPEG-4 Part 2, q 2) for avi" in text  # what .avi really gets
    assert main(["train", "far", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--mae PATH" in text.replace("│", "").replace("  ", " ") or "Required unless --resume" in text
    assert "[default: (1000)]" in text


def test_doctor_fits_columns(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["doctor"]) == 0
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= 100


def test_quality_for_jpeg_and_webp(tmp_path, model_files):
    photo, mask = _files(tmp_path)
    sizes = {}
    for name, extra in (("d.jpg", []), ("q30.jpg", ["--quality", "30"]), ("l.webp", []), ("q30.webp", ["--quality", "30"])):
        assert main(["run", str(photo), str(mask), "-o", str(tmp_path / name), "--model", str(model_files["onnx"]), *extra]) == 0
        sizes[name] = (tmp_path / name).stat().st_size
    assert sizes["q30.jpg"] < sizes["d.jpg"] and sizes["q30.webp"] < sizes["l.webp"]
    known = cv2.imread(str(mask), 0) == 0
    src = cv2.imread(str(photo))
    assert np.array_equal(cv2.imread(str(tmp_path / "l.webp"))[known], src[known])  # lossless by default
    assert main(["run", str(photo), str(mask), "-o", str(tmp_path / "x.jpg"), "--quality", "101"]) == 2


def test_every_install_hint_names_the_distribution():
    import tomllib

    name = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]
    assert name == "inpaint-toolkit"
    hits = subprocess.run(["git", "grep", "-n", "pip install 'inpaint\\[", "--", "inpaint", "README.md", "docs"],
                          cwd=REPO, capture_output=True, text=True).stdout
    assert hits == "", hits
