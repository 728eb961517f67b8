"""``inpaint run --texture on|off|S``: the default puts texture in, off gives the network's fill, bad values exit 2."""

from __future__ import annotations

import cv2
import numpy as np

from inpaint.cli.main import main


def _files(tmp_path, h=120, w=160):
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(40, 220, (6, 8, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    bgr = np.clip(base + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    hole = np.zeros((h, w), bool)
    hole[40:80, 50:110] = True
    cv2.imwrite(str(tmp_path / "img.png"), bgr)
    cv2.imwrite(str(tmp_path / "mask.png"), hole.astype(np.uint8) * 255)
    return bgr, hole


def _run(tmp_path, model_files, out, *extra):
    return main(["run", str(tmp_path / "img.png"), str(tmp_path / "mask.png"), "-o", str(tmp_path / out),
                 "--model", str(model_files["onnx"]), *extra])


def test_texture_default_off_and_strength(tmp_path, model_files):
    bgr, hole = _files(tmp_path)
    assert _run(tmp_path, model_files, "on.png") == 0
    assert _run(tmp_path, model_files, "off.png", "--texture", "off") == 0
    assert _run(tmp_path, model_files, "strong.png", "--texture", "1.5") == 0
    on, off, strong = (cv2.imread(str(tmp_path / n)).astype(np.float32) for n in ("on.png", "off.png", "strong.png"))
    for out in (on, off, strong):
        assert np.array_equal(out[~hole], bgr[~hole])
    lap = lambda x: np.abs(cv2.Laplacian(cv2.cvtColor(x, cv2.COLOR_BGR2GRAY), cv2.CV_32F, ksize=1))[hole].mean()  # noqa: E731
    assert lap(off) < lap(on) < lap(strong)


def test_bad_texture_value_exits_2_and_writes_nothing(tmp_path, model_files, capsys):
    _files(tmp_path)
    assert _run(tmp_path, model_files, "out.png", "--texture", "lots") == 2
    assert "--texture lots: use on, off or a strength from 0 to 2" in capsys.readouterr().err
    assert _run(tmp_path, model_files, "out.png", "--texture", "3") == 2
    assert not (tmp_path / "out.png").exists()
