"""``inpaint run --strategy / --dilate``: pass-through, -v names the strategy, bad values exit 2, --help."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from inpaint.cli.main import main
from inpaint.runtime.strategies.memory import MEMORY_ENV


def _files(tmp_path, h=150, w=200):
    rgb = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    hole = np.zeros((h, w), bool)
    hole[20:30, 30:45] = True
    hole[110:120, 150:170] = True
    cv2.imwrite(str(tmp_path / "img.png"), rgb)
    cv2.imwrite(str(tmp_path / "mask.png"), hole.astype(np.uint8) * 255)
    return rgb, hole


def _args(tmp_path, model_files, *extra):
    return ["run", str(tmp_path / "img.png"), str(tmp_path / "mask.png"), "-o", str(tmp_path / "out.png"),
            "--model", str(model_files["onnx"]), *extra]


@pytest.mark.parametrize("strategy, log", [("crop", "strategy crop, 2 window(s)"), ("resize", "strategy resize"),
                                           ("full", "strategy full"), ("auto", "strategy crop")])
def test_strategy_runs_and_verbose_names_it(tmp_path, model_files, caplog, strategy, log):
    bgr, hole = _files(tmp_path)
    with caplog.at_level(logging.DEBUG, logger="inpaint"):
        assert main(["-v", *_args(tmp_path, model_files, "--strategy", strategy)]) == 0
    assert log in caplog.text  # madf-t works at 64: 200 px is above 2 x 64, so auto crops
    out = cv2.imread(str(tmp_path / "out.png"))
    assert np.array_equal(out[~hole], bgr[~hole]) and not np.array_equal(out[hole], bgr[hole])


def test_dilate_changes_the_rim_too(tmp_path, model_files):
    bgr, hole = _files(tmp_path)
    assert main(_args(tmp_path, model_files, "--dilate", "4", "--strategy", "crop")) == 0
    out = cv2.imread(str(tmp_path / "out.png"))
    grown = cv2.dilate(hole.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert np.array_equal(out[~grown], bgr[~grown])
    rim = grown & ~hole
    assert (out[rim] != bgr[rim]).any(axis=1).mean() > 0.5


@pytest.mark.parametrize("extra, expected", [
    (["--strategy", "tiles"], "--strategy tiles: unknown strategy; use one of auto, crop, resize, full"),
    (["--dilate", "-2"], "--dilate -2: must be 0 or more pixels"),
])
def test_bad_values_exit_2(tmp_path, model_files, capsys, extra, expected):
    _files(tmp_path)
    assert main(_args(tmp_path, model_files, *extra)) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1


def test_full_refused_names_crop_and_leaves_no_output(tmp_path, model_files, capsys, monkeypatch):
    _files(tmp_path)
    monkeypatch.setenv(MEMORY_ENV, "1")
    assert main(_args(tmp_path, model_files, "--strategy", "full")) == 2  # the only input cannot run: bad input
    err = capsys.readouterr().err
    assert "--strategy full on this 200x150 photo needs about" in err and "use --strategy crop" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.png").exists()


def test_help_documents_both_options(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")  # one line per option: the wrapped help has box characters in between
    assert main(["run", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--strategy" in text and "--dilate" in text and "default 0 for photos" in text
