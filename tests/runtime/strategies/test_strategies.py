"""Every strategy through ``inpaint_arrays``: known pixels bit-identical (8/16-bit, grey, RGBA), batching of
windows, waves of overlapping windows, empty holes skip the network, ``full`` refused, ``auto``'s choice, dilation."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from inpaint.errors import UserError
from inpaint.runtime.backends.base import ModelInfo
from inpaint.runtime.io import read_image
from inpaint.runtime.jobs import plan_jobs
from inpaint.runtime.pipeline import inpaint_arrays, run_pipeline
from inpaint.runtime.sources import ImageFiles
from inpaint.runtime.strategies import choose_strategy
from inpaint.runtime.strategies.choose import AUTO_RESIZE_COVER, hole_radius, window_cover
from inpaint.runtime.strategies import crop as crop_module
from inpaint.runtime.strategies.crop import waves
from inpaint.runtime.strategies.full import full_estimate_mb
from inpaint.runtime.strategies.memory import MEMORY_ENV, available_mb
from inpaint.runtime.strategies.windows import Window, plan_windows
from tests.runtime.fakes import FillRunner

STRATEGIES = ["crop", "resize", "full"]


class MaskRecorder(FillRunner):
    """FillRunner (train size 64, stride 16) that also keeps every mask batch it saw."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.masks: list[np.ndarray] = []

    def infer_impl(self, image, mask):
        self.masks.append(mask.copy())
        return super().infer_impl(image, mask)


def _rgb(h, w, seed=0, dtype=np.uint8):
    return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max + 1, (h, w, 3), dtype=np.int64).astype(dtype)


def _two_holes(h=300, w=400):
    hole = np.zeros((h, w), bool)
    hole[40:60, 50:80] = True
    hole[200:260, 300:330] = True
    return hole


def _interior(hole: np.ndarray, px: int) -> np.ndarray:
    """The hole less a rim of ``px`` pixels: beyond the reach of the enlarging filter."""
    return cv2.erode(hole.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)).astype(bool)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_known_pixels_bit_identical_and_hole_filled(strategy, dtype):
    runner = FillRunner().activate()
    rgb, hole = _rgb(300, 400, 1, dtype), _two_holes()
    (out,) = inpaint_arrays(runner, [rgb], [hole], strategy=strategy, texture="off")  # the network's fill alone
    assert out.dtype == dtype and out.shape == rgb.shape
    assert np.array_equal(out[~hole], rgb[~hole])
    half = (np.iinfo(dtype).max + 1) // 2  # FillRunner fills 0.5
    # where a window was resampled, the rim of the hole mixes in the known pixels around it (bicubic
    # reaches 2 source pixels: 2 x 400 / 64 = 12.5 pixels for resize); deeper in, only the fill is left
    deep = out[_interior(hole, {"full": 0, "crop": 4, "resize": 13}[strategy])].astype(int)
    assert (np.abs(deep - half) <= 1).all()  # 0.5 is a rounding tie: resampling's last bit decides 127 or 128
    assert (out[hole] != rgb[hole]).mean() > 0.95


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_hole_at_the_border_and_hole_covering_most(strategy):
    runner = FillRunner(value=128 / 255).activate()
    rgb = np.full((150, 260, 3), 128, np.uint8)  # on a flat grey the fill is 128 up to the hole's edge
    rgb[::7, ::5] = 30  # known pixels to keep
    border = np.zeros((150, 260), bool)
    border[:12, 240:] = True
    most = np.ones((150, 260), bool)
    most[60:70, 100:120] = False
    outs = inpaint_arrays(runner, [rgb, rgb], [border, most], strategy=strategy, texture="off")  # the fill itself
    for out, hole in zip(outs, (border, most)):
        assert np.array_equal(out[~hole], rgb[~hole])
        assert (np.abs(out[hole].astype(int) - 128) <= 30).all() and (out[hole] != 30).mean() > 0.9


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_grey_and_rgba_files_keep_alpha_and_known_pixels(tmp_path, strategy):
    rng = np.random.default_rng(3)
    grey = rng.integers(0, 256, (120, 200), dtype=np.uint8)
    rgba = rng.integers(0, 256, (120, 200, 4), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    hole = np.zeros((120, 200), bool)
    hole[10:30, 150:190] = True
    cv2.imwrite(str(tmp_path / "mask.png"), hole.astype(np.uint8) * 255)
    for name in ("grey", "rgba"):
        jobs, _ = plan_jobs(tmp_path / f"{name}.png", tmp_path / "mask.png", tmp_path / "out" / f"{name}.png")
        assert run_pipeline(FillRunner().activate(), ImageFiles(jobs), strategy=strategy).ok
    out_grey = cv2.imread(str(tmp_path / "out" / "grey.png"), cv2.IMREAD_UNCHANGED)
    assert out_grey.ndim == 2 and np.array_equal(out_grey[~hole], grey[~hole])
    out_rgba = cv2.imread(str(tmp_path / "out" / "rgba.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(out_rgba[:, :, 3], rgba[:, :, 3]) and np.array_equal(out_rgba[~hole], rgba[~hole])


def test_real_model_crop_changes_only_the_hole(model_files):
    from inpaint.runtime.backends import load_runner

    with load_runner(model_files["onnx"], "onnx", "cpu") as runner:
        assert runner.metadata.train_size == 64
        rgb, hole = _rgb(200, 330, 4), _two_holes(200, 330)
        (out,) = inpaint_arrays(runner, [rgb], [hole], strategy="crop")
        (alone,) = inpaint_arrays(runner, [rgb], [hole], strategy="resize")
    assert np.array_equal(out[~hole], rgb[~hole]) and not np.array_equal(out[hole], rgb[hole])
    assert np.array_equal(alone[~hole], rgb[~hole])


def test_empty_holes_are_copied_without_running_the_network():
    runner = FillRunner().activate()
    rgbs = [_rgb(100, 120, 5), _rgb(100, 120, 6)]
    holes = [np.zeros((100, 120), bool), np.zeros((100, 120), np.uint8)]
    for strategy in ("auto", *STRATEGIES):
        outs = inpaint_arrays(runner, rgbs, holes, strategy=strategy, dilate=3)
        assert runner.calls == []
        for out, rgb in zip(outs, rgbs):
            assert np.array_equal(out, rgb) and out is not rgb


def test_windows_of_all_pictures_run_as_one_batch():
    runner = FillRunner().activate()
    rgbs, holes = [_rgb(300, 400, 7), _rgb(300, 400, 8)], [_two_holes(), _two_holes()]
    inpaint_arrays(runner, rgbs, holes, strategy="crop")
    assert runner.calls == [(4, 3, 64, 64)]  # 2 windows per picture, all at the working size, one call


def test_window_batches_are_capped(monkeypatch):
    monkeypatch.setattr(crop_module, "MAX_WINDOW_BATCH", 3)
    runner = FillRunner().activate()
    inpaint_arrays(runner, [_rgb(300, 400, 9)] * 2, [_two_holes()] * 2, strategy="crop")
    assert [c[0] for c in runner.calls] == [3, 1]


def test_overlapping_windows_run_in_waves_and_see_earlier_fills():
    runner = MaskRecorder().activate()
    hole = np.zeros((200, 200), bool)
    hole[50:90, 50:90] = True  # window 80 px: rows / cols 30..110
    hole[95:105, 100:110] = True  # its own 64 px window overlaps the first one
    plan = plan_windows(hole, 64)
    assert len(plan.windows) == 2 and plan.windows[0].overlap(plan.windows[1]) > 0
    assert waves(plan) == [[0], [1]]  # the larger window first
    (out,) = inpaint_arrays(runner, [_rgb(200, 200, 10)], [hole], strategy="crop", texture="off")
    assert [m.shape[0] for m in runner.masks] == [1, 1]  # two waves of one window each
    second, win = runner.masks[1][0, 0] > 0, plan.windows[1]
    big = np.zeros_like(hole)
    big[50:90, 50:90] = True
    # the second window sees the first hole's pixels as filled (known), its own as hole
    assert np.array_equal(second, (hole & ~big)[win.y0 : win.y1, win.x0 : win.x1])
    assert big[win.y0 : win.y1, win.x0 : win.x1].any()
    assert (out[hole & ~big] == 128).all()  # the second window runs at scale 1: the network's own pixels


def test_full_is_refused_with_its_estimate_when_memory_is_short(monkeypatch):
    runner = FillRunner().activate()
    rgb, hole = _rgb(300, 400, 11), _two_holes()
    need = full_estimate_mb(runner, (300, 400))
    monkeypatch.setenv(MEMORY_ENV, str(need / 2))
    assert available_mb() == pytest.approx(need / 2)
    with pytest.raises(UserError, match=r"--strategy full on this 400x300 photo needs about .* GB .*use --strategy crop") as info:
        inpaint_arrays(runner, [rgb], [hole], strategy="full")
    assert f"{need / 1024:.1f} GB" in str(info.value)
    assert runner.calls == []  # refused before anything ran
    # auto does not refuse: a photo it would run at full resolution (long side <= 2 x 64) is cropped instead
    small, small_hole = rgb[:100, :128], np.zeros((100, 128), bool)
    small_hole[40:50, 40:50] = True
    monkeypatch.setenv(MEMORY_ENV, str(full_estimate_mb(runner, (100, 128)) / 2))
    (out,) = inpaint_arrays(runner, [small], [small_hole], strategy="auto")
    assert runner.calls == [(1, 3, 64, 64)] and np.array_equal(out[~small_hole], small[~small_hole])
    monkeypatch.delenv(MEMORY_ENV)
    inpaint_arrays(runner, [small], [small_hole], strategy="auto")
    assert runner.calls[-1] == (1, 3, 112, 128)  # with the memory: full resolution, padded to the stride
    monkeypatch.setenv(MEMORY_ENV, "lots")
    with pytest.raises(UserError, match=MEMORY_ENV):
        available_mb()


def test_full_splits_a_batch_that_does_not_fit_at_once(monkeypatch):
    runner = FillRunner().activate()
    one = full_estimate_mb(runner, (300, 400))
    monkeypatch.setenv(MEMORY_ENV, str(one * 2.5))
    inpaint_arrays(runner, [_rgb(300, 400, s) for s in range(5)], [_two_holes()] * 5, strategy="full")
    assert [c[0] for c in runner.calls] == [2, 2, 1]


def test_auto_chooses_by_size_hole_and_memory(monkeypatch):
    runner = FillRunner().activate()  # working size 64
    small = np.zeros((100, 128), bool)
    small[10:20, 10:20] = True
    assert choose_strategy(runner, small) == "full"  # long side <= 2 x 64, hole radius 5 <= 0.375 x 64
    thick = np.zeros((100, 128), bool)
    thick[20:80, 30:100] = True  # inscribed radius 30 > 24 = 0.375 x 64: the network at full size would see a
    assert choose_strategy(runner, thick) in ("crop", "resize")  # hole thicker than it trained on
    thin = np.zeros((100, 128), bool)
    thin[40:60, 4:124] = True  # a stroke across the photo: radius 10
    assert hole_radius(thin) == pytest.approx(10, abs=1) and choose_strategy(runner, thin) == "full"
    large = np.zeros((300, 400), bool)
    large[10:20, 10:20] = True
    assert choose_strategy(runner, large) == "crop"
    assert choose_strategy(runner, np.ones((300, 400), bool)) == "resize"
    spread = np.zeros((300, 400), bool)
    spread[20::70, 20::90] = True  # 25 specks: 0.02 % of the pixels, but their windows cover most of the photo
    assert window_cover(plan_windows(spread, 64).windows, spread.shape) > AUTO_RESIZE_COVER
    assert choose_strategy(runner, spread) == "resize"
    assert choose_strategy(runner, small, available=full_estimate_mb(runner, (100, 128)) / 2) == "crop"


def test_window_cover_counts_overlaps_once():
    wins = [Window(0, 0, 10, 10), Window(5, 5, 15, 15), Window(30, 30, 40, 50)]
    assert window_cover(wins, (50, 50)) == pytest.approx((100 + 100 - 25 + 200) / 2500)
    assert window_cover([], (5, 5)) == 0.0


def test_verbose_log_names_the_strategy_and_windows(caplog):
    runner = FillRunner().activate()
    with caplog.at_level(logging.DEBUG, logger="inpaint"):
        inpaint_arrays(runner, [_rgb(300, 400, 12)], [_two_holes()])
    assert "400x300: strategy crop, 2 window(s)" in caplog.text


def test_dilate_grows_the_hole_before_inpainting():
    runner = FillRunner().activate()
    rgb = _rgb(120, 160, 13)
    hole = np.zeros((120, 160), bool)
    hole[50:60, 70:80] = True
    for strategy in ("full", "crop"):
        (out,) = inpaint_arrays(runner, [rgb], [hole], strategy=strategy, dilate=3, texture="off")
        grown = np.zeros_like(hole)
        grown[47:63, 67:83] = True
        assert (out[grown] == 128).all() and np.array_equal(out[~grown], rgb[~grown])
    with pytest.raises(UserError, match="--dilate -1"):
        inpaint_arrays(runner, [rgb], [hole], dilate=-1)
    with pytest.raises(UserError, match="--strategy tiles: unknown strategy; use one of auto, crop, resize, full"):
        inpaint_arrays(runner, [rgb], [hole], strategy="tiles")


def test_model_without_train_size_uses_256():
    runner = FillRunner().activate()
    runner.metadata = ModelInfo(family="test", preset="fill", stride=16, train_size=0, ops="numpy")
    inpaint_arrays(runner, [_rgb(600, 700, 14)], [_two_holes(600, 700)], strategy="crop")
    assert runner.calls[0][2:] == (256, 256)


def test_16bit_file_through_crop(tmp_path):
    deep = _rgb(200, 300, 15, np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), deep[:, :, ::-1])
    hole = _two_holes(200, 300)
    cv2.imwrite(str(tmp_path / "m.png"), hole.astype(np.uint8) * 255)
    jobs, _ = plan_jobs(tmp_path / "deep.png", tmp_path / "m.png", tmp_path / "o.png")
    assert run_pipeline(FillRunner().activate(), ImageFiles(jobs), strategy="crop", texture="off").ok
    out = read_image(tmp_path / "o.png").rgb
    assert out.dtype == np.uint16 and np.array_equal(out[~hole], deep[~hole]) and (out[hole] == 32768).all()
