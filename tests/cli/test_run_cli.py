"""``inpaint run``: folders, failures and exit codes, resuming, masks of another size, alpha, 16-bit, no torch."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from inpaint.cli.main import main
from inpaint.runtime.io import read_image

REPO = Path(__file__).resolve().parents[2]


def _write_rgb(path: Path, h: int = 40, w: int = 56, seed: int = 0, dtype=np.uint8, alpha: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    top = np.iinfo(dtype).max
    pixels = rng.integers(0, top + 1, (h, w, 4 if alpha else 3), dtype=np.int64).astype(dtype)
    assert cv2.imwrite(str(path), pixels)
    return pixels


def _write_mask(path: Path, h: int = 40, w: int = 56) -> np.ndarray:
    hole = np.zeros((h, w), np.uint8)
    hole[h // 4 : h // 2, w // 4 : w // 2] = 255
    assert cv2.imwrite(str(path), hole)
    return hole > 0


@pytest.fixture
def folders(tmp_path):
    """images/: a.png, b.jpg, broken.png (garbage bytes, has a mask), lonely.png (no mask); masks/: by stem."""
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    _write_rgb(images / "a.png", seed=1)
    _write_rgb(images / "b.jpg", seed=2)
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    _write_rgb(images / "lonely.png", seed=3)
    for stem in ("a", "b", "broken"):
        _write_mask(masks / f"{stem}.png")
    return images, masks


def test_folder_with_failures_processes_the_rest(folders, tmp_path, model_files, capsys):
    images, masks = folders
    out = tmp_path / "out"
    out.mkdir()
    (out / "broken.png").write_bytes(b"the user's old result")  # a failure must not touch it
    code = main(["run", str(images), str(masks), "-o", str(out), "--model", str(model_files["onnx"]), "--batch", "2"])
    captured = capsys.readouterr()
    assert code == 1
    assert "2 written, 2 failed" in captured.out
    assert "broken.png" in captured.err and "a truncated PNG file" in captured.err
    assert "lonely.png" in captured.err and "no mask named lonely" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.jpg", "broken.png"]  # no temporary files left
    assert (out / "broken.png").read_bytes() == b"the user's old result"
    src, res = cv2.imread(str(images / "a.png")), cv2.imread(str(out / "a.png"))
    known = ~_write_mask(tmp_path / "m.png")
    assert np.array_equal(res[known], src[known]) and not np.array_equal(res[~known], src[~known])
    assert cv2.imread(str(out / "b.jpg")) is not None


def test_skip_existing_resumes(folders, tmp_path, model_files, capsys):
    images, masks = folders
    (images / "broken.png").unlink()
    (images / "lonely.png").unlink()
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"done before the interruption")
    args = ["run", str(images), str(masks), "-o", str(out), "--model", str(model_files["onnx"])]
    assert main([*args, "--skip-existing"]) == 0
    assert "1 written, 0 failed" in capsys.readouterr().out
    assert (out / "a.png").read_bytes() == b"done before the interruption"
    assert (out / "b.jpg").is_file()
    assert main(args) == 0  # without the flag everything runs again
    assert "2 written" in capsys.readouterr().out
    assert cv2.imread(str(out / "a.png")) is not None


def test_mask_of_another_size_is_resized_with_a_warning(tmp_path, model_files, caplog):
    _write_rgb(tmp_path / "img.png", 40, 56)
    _write_mask(tmp_path / "mask.png", 20, 28)
    with caplog.at_level(logging.WARNING, logger="inpaint"):
        assert main(["run", str(tmp_path / "img.png"), str(tmp_path / "mask.png"), "-o", str(tmp_path / "out.png"),
                     "--model", str(model_files["onnx"])]) == 0
    assert "resized the mask" in caplog.text
    assert cv2.imread(str(tmp_path / "out.png")).shape == (40, 56, 3)


def test_rgba_keeps_alpha_and_16_bit_stays_16_bit(tmp_path, model_files):
    images = tmp_path / "in"
    images.mkdir()
    rgba = _write_rgb(images / "rgba.png", alpha=True, seed=4)
    deep = _write_rgb(images / "deep.png", dtype=np.uint16, seed=5)
    hole = _write_mask(tmp_path / "mask.png")
    assert main(["run", str(images), str(tmp_path / "mask.png"), "-o", str(tmp_path / "out") + "/",
                 "--model", str(model_files["onnx"]), "--batch", "2"]) == 0
    out_rgba = cv2.imread(str(tmp_path / "out" / "rgba.png"), cv2.IMREAD_UNCHANGED)
    assert out_rgba.shape == rgba.shape and np.array_equal(out_rgba[:, :, 3], rgba[:, :, 3])
    assert np.array_equal(out_rgba[~hole], rgba[~hole])
    out_deep = cv2.imread(str(tmp_path / "out" / "deep.png"), cv2.IMREAD_UNCHANGED)
    assert out_deep.dtype == np.uint16 and np.array_equal(out_deep[~hole], deep[~hole])


def test_no_model_and_no_bundled_default(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("inpaint.runtime.model_files.ASSETS", tmp_path / "no-assets")
    _write_rgb(tmp_path / "img.png")
    _write_mask(tmp_path / "mask.png")
    assert main(["run", str(tmp_path / "img.png"), str(tmp_path / "mask.png"), "-o", str(tmp_path / "out.png")]) == 2
    assert "no bundled default model in this install; pass --model PATH" in capsys.readouterr().err


def test_torch_engine_on_a_checkpoint(tmp_path, model_files):
    _write_rgb(tmp_path / "img.png")
    _write_mask(tmp_path / "mask.png")
    assert main(["run", str(tmp_path / "img.png"), str(tmp_path / "mask.png"), "-o", str(tmp_path / "out.webp"),
                 "--model", str(model_files["checkpoint"]), "--engine", "torch"]) == 0
    assert read_image(tmp_path / "out.webp").size == (40, 56)


NO_TORCH = "import sys; sys.modules['torch'] = None; from inpaint.cli.main import main; sys.exit(main(sys.argv[1:]))"


def _no_torch(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", NO_TORCH, *args], capture_output=True, text=True, env=env, cwd=REPO)


def test_run_without_torch(tmp_path, model_files):
    help_ = _no_torch("run", "--help")
    assert help_.returncode == 0 and "--engine" in help_.stdout
    _write_rgb(tmp_path / "img.png")
    _write_mask(tmp_path / "mask.png")
    proc = _no_torch("run", str(tmp_path / "img.png"), str(tmp_path / "mask.png"), "-o", str(tmp_path / "out.png"),
                     "--model", str(model_files["onnx"]))
    assert proc.returncode == 0, proc.stderr
    assert cv2.imread(str(tmp_path / "out.png")).shape == (40, 56, 3)
    proc = _no_torch("run", str(tmp_path / "img.png"), str(tmp_path / "mask.png"), "-o", str(tmp_path / "o2.png"),
                     "--model", str(model_files["checkpoint"]))
    assert proc.returncode == 2 and "torch" in proc.stderr and "inpaint-toolkit[train]" in proc.stderr


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--engine", "onxx"], "did you mean 'onnx'"),
        pytest.param(["--engine", "trt"], "--engine trt needs the Python package 'tensorrt'",
                     marks=pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here")),
        (["--engine", "onnx", "--cuda-graph"], "--cuda-graph: only for engines that take it (trt)"),
        (["--engine", "torch"], "use --engine onnx"),
        (["--model", "missing.onnx"], "missing.onnx: no such model file"),
        (["--batch", "0"], "--batch 0"),
    ],
    ids=["unknown-engine", "trt", "cuda-graph-on-onnx", "torch-on-onnx", "missing-model", "bad-batch"],
)
def test_bad_arguments_exit_2(tmp_path, model_files, capsys, extra, expected):
    _write_rgb(tmp_path / "img.png")
    _write_mask(tmp_path / "mask.png")
    args = ["run", str(tmp_path / "img.png"), str(tmp_path / "mask.png"), "-o", str(tmp_path / "out.png")]
    if "--model" not in extra:
        args += ["--model", str(model_files["onnx"])]
    assert main([*args, *extra]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.png").exists()
