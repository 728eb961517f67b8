"""``inpaint eval``: masks across bins, scores against hand checks, baselines, contact sheet, JSON."""

import json

import cv2
import numpy as np
import pytest

from inpaint.cli.main import main
from inpaint.runtime.evaluate import BINS, Case, baseline, bin_of, evaluate, find_cases, load_cases, make_masks
from inpaint.runtime.io import read_image


@pytest.fixture
def photos(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    yy, xx = np.mgrid[0:72, 0:96]
    for i in range(2):
        img = np.stack([xx * 2 + i * 40, yy * 3, (xx + yy) + 20 * i], -1).clip(0, 255).astype(np.uint8)
        cv2.imwrite(str(root / f"p{i}.png"), img)
    return root


def test_make_masks_cover_every_bin(photos, tmp_path):
    paths = make_masks(photos, tmp_path / "masks")
    assert len(paths) == 2 * len(BINS)
    cases = load_cases(find_cases(photos, tmp_path / "masks"))
    assert sorted({bin_of(c.ratio) for c in cases}) == sorted(f"({lo:g},{hi:g}]" for lo, hi in BINS)
    again = make_masks(photos, tmp_path / "again")
    assert all(np.array_equal(read_image(a).rgb, read_image(b).rgb) for a, b in zip(paths, again))


def test_scores_and_baselines(photos, tmp_path):
    cases = load_cases(find_cases(photos, make_masks(photos, tmp_path / "m")[0].parent))
    identity = evaluate(cases, lambda rgb, hole: rgb, baselines=("telea",), model_name="oracle", sheet=tmp_path / "sheet.png")
    summary = identity.summary()
    assert summary["overall"]["oracle"]["psnr"] == 100.0 and summary["overall"]["oracle"]["ssim"] == pytest.approx(1.0)
    assert summary["overall"]["telea"]["psnr"] < 100.0
    # Telea fills a smooth gradient far better than a black fill
    black = evaluate(cases, lambda rgb, hole: np.where(hole[..., None], 0, rgb).astype(np.uint8), baselines=("telea",), model_name="black")
    s = black.summary()["overall"]
    assert s["telea"]["psnr"] > s["black"]["psnr"] + 5
    sheet = read_image(tmp_path / "sheet.png").rgb
    assert sheet.shape[0] == 6 * 192 and sheet.shape[1] > 5 * 192  # 6 rows: input, mask, telea, oracle, photo
    rgb = cases[0].rgb
    out = baseline("ns", rgb, cases[0].hole)
    assert np.array_equal(out[~cases[0].hole], rgb[~cases[0].hole])


def test_eval_cli_on_an_onnx_model(photos, tmp_path, model_files):
    tiny_onnx = model_files["onnx"]
    code = main(["eval", str(tiny_onnx), "--images", str(photos), "--masks", str(tmp_path / "m"), "--generate-masks",
                 "--json", str(tmp_path / "r.json"), "--sheet", str(tmp_path / "s.png")])
    assert code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["methods"] == ["telea", "ns", "pushpull", "madf-t"] and len(report["cases"]) == 12
    assert set(report["summary"]) == {"overall", *(f"({lo:g},{hi:g}]" for lo, hi in BINS)}
    assert (tmp_path / "s.png").is_file()
    assert main(["eval", str(tiny_onnx), "--images", str(photos), "--masks", str(tmp_path / "nothing")]) == 2
    assert main(["eval", str(tiny_onnx), "--images", str(photos), "--masks", str(tmp_path / "m"), "--baselines", "fancy"]) == 2


def test_doctor_runs(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "onnxruntime" in out and "tensorrt" in out and "inpaint[train]" in out
