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
    assert "onnxruntime" in out and "tensorrt" in out and "inpaint-toolkit[train]" in out


# --- detail (TEXTURE.md), extra methods, object-shaped holes --------------------------------------------------


def _textured_case(name="c", seed=0):
    """A (64, 80) photo of uint8 texture in 64-191 (room to scale its contrast) and a 32 x 40 hole."""
    rgb = np.random.default_rng(seed).integers(64, 192, (64, 80, 3)).astype(np.uint8)
    hole = np.zeros((64, 80), bool)
    hole[16:48, 20:60] = True
    return Case(name, rgb, hole)


def _contrast(s):
    """A method that keeps the hole's texture at ``s`` times its contrast around 128: detail ~ s."""
    def method(rgb, hole):
        out = rgb.astype(np.float32)
        out[hole] = 128 + s * (out[hole] - 128)
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
    return method


def test_summary_detail_is_the_median_ignoring_nan():
    from inpaint.runtime.evaluate import Report

    report = Report(["m"])
    for d in (0.1, 0.9, 0.3, float("nan")):
        report.rows.append({"case": "x", "ratio": 0.15, "bin": bin_of(0.15), "scores": {"m": (30.0, 0.9)},
                            "hole_psnr": {"m": 20.0}, "detail": {"m": d}})
    s = report.summary()
    assert s["overall"]["m"]["detail"] == pytest.approx(0.3)  # the mean of the finite ones would be 0.433
    assert s["(0.1,0.2]"]["m"]["detail"] == pytest.approx(0.3) and s["overall"]["m"]["n"] == 4
    assert s["overall"]["m"]["psnr"] == 30.0 and s["overall"]["m"]["hole_psnr"] == 20.0
    assert np.isnan(json.loads(report.to_json())["cases"][3]["detail"]["m"])


def test_detail_rows_and_the_median_over_three_cases():
    cases = [_textured_case(f"c{i}", seed=i) for i in range(3)]
    scales = iter([0.25, 0.5, 2.0])
    report = evaluate(cases, lambda rgb, hole: _contrast(next(scales))(rgb, hole), baselines=("telea",), model_name="m")
    details = [r["detail"]["m"] for r in report.rows]
    assert details == pytest.approx([0.25, 0.5, 2.0], abs=0.02)
    assert all(set(r["detail"]) == {"telea", "m"} for r in report.rows)
    overall = report.summary()["overall"]
    assert overall["m"]["detail"] == pytest.approx(details[1])  # median, not the mean (~0.92)
    assert overall["telea"]["detail"] < 0.5  # a diffusion fill is smooth


def test_extra_methods_are_columns_beside_the_model(tmp_path):
    cases = [_textured_case()]
    report = evaluate(cases, _contrast(1.0), baselines=("telea",), model_name="net", sheet=tmp_path / "s.png",
                      extra_methods={"texture off": _contrast(0.0), "texture on": _contrast(1.0)})
    assert report.methods == ["telea", "net", "texture off", "texture on"]
    row = report.rows[0]
    assert row["detail"]["texture off"] == pytest.approx(0.0, abs=1e-6)
    assert row["detail"]["texture on"] == pytest.approx(1.0, abs=0.01) and row["hole_psnr"]["texture on"] > 40
    assert read_image(tmp_path / "s.png").rgb.shape[1] == 7 * 192 * 80 // 64  # input, mask, 4 methods, photo
    only = evaluate(cases, None, baselines=(), extra_methods={"a": _contrast(0.5)})
    assert only.methods == ["a"] and set(only.summary()["overall"]) == {"a"}


def test_object_masks_one_object_in_range_inside_deterministic(tmp_path):
    from inpaint.runtime.evaluate import OBJECT_RATIO, make_object_masks
    from inpaint.runtime.io import read_mask, write_image
    from inpaint.runtime.silhouettes import MARGIN

    images = tmp_path / "im"
    images.mkdir()
    for name, (h, w) in {"a": (72, 96), "b": (120, 90), "c": (200, 300)}.items():
        write_image(images / f"{name}.png", np.full((h, w, 3), 100, np.uint8))
    paths = make_object_masks(images, tmp_path / "m", per_photo=4, seed=3)
    assert [p.name for p in paths] == [f"{s}__o{j}.png" for s in "abc" for j in range(4)]
    assert [p.name for p in make_object_masks(images, tmp_path / "r", per_photo=4, seed=3)] == [p.name for p in paths]
    other = make_object_masks(images, tmp_path / "o", per_photo=4, seed=4)
    holes = [read_mask(p) for p in paths]
    assert all(np.array_equal(x, read_mask(tmp_path / "r" / p.name)) for x, p in zip(holes, paths))
    assert not all(np.array_equal(x, read_mask(q)) for x, q in zip(holes, other))
    for hole in holes:
        assert OBJECT_RATIO[0] <= hole.mean() <= OBJECT_RATIO[1]
        assert cv2.connectedComponents(hole.astype(np.uint8), connectivity=8)[0] == 2  # background + one object
        assert not (hole[:MARGIN].any() or hole[-MARGIN:].any() or hole[:, :MARGIN].any() or hole[:, -MARGIN:].any())
        assert len(np.unique(hole)) == 2
    assert len(find_cases(images, tmp_path / "m")) == 12
    small = make_object_masks(images, tmp_path / "s", per_photo=1, ratio=(0.02, 0.04))
    assert all(0.02 <= read_mask(p).mean() <= 0.04 for p in small)


def test_eval_cli_object_masks_and_detail(photos, tmp_path, model_files, capsys):
    code = main(["eval", str(model_files["onnx"]), "--images", str(photos), "--masks", str(tmp_path / "m"),
                 "--generate-masks", "--mask-kind", "objects", "--baselines", "telea", "--json", str(tmp_path / "r.json"),
                 "--sheet", str(tmp_path / "s.png")])
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["p0__o0.png", "p0__o1.png", "p1__o0.png", "p1__o1.png"]
    report = json.loads((tmp_path / "r.json").read_text())
    assert len(report["cases"]) == 4 and all(set(c["detail"]) == {"telea", "madf-t"} for c in report["cases"])
    assert "detail" in report["summary"]["overall"]["madf-t"]
    assert "detail" in capsys.readouterr().out
    assert main(["eval", str(model_files["onnx"]), "--images", str(photos), "--masks", str(tmp_path / "x"),
                 "--generate-masks", "--mask-kind", "blobs"]) == 2
