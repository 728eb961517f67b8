"""The batch pipeline with a numpy runner: batching by size, failures, alpha / grey / 16-bit, compositing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inpaint.runtime.io import Picture, read_image, write_image
from inpaint.runtime.jobs import plan_jobs
from inpaint.runtime.pipeline import inpaint_arrays, run_pipeline
from inpaint.runtime.sources import FrameSource, ImageFiles, Item
from tests.runtime.fakes import FillRunner


def _rgb(h: int, w: int, seed: int, dtype=np.uint8) -> np.ndarray:
    top = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(0, top + 1, (h, w, 3), dtype=np.int64).astype(dtype)


def _hole(h: int, w: int) -> np.ndarray:
    hole = np.zeros((h, w), bool)
    hole[h // 4 : h // 2, w // 3 : w // 2 + 3] = True
    return hole


class ListSource(FrameSource):
    """In-memory source (what a video source looks like to the pipeline): results land in ``saved``."""

    def __init__(self, frames):
        self.frames, self.saved = frames, {}

    def __iter__(self):
        for name, rgb, hole in self.frames:
            yield Item(name, lambda rgb=rgb, hole=hole: (Picture(rgb=rgb), hole),
                       lambda pic, name=name: self.saved.__setitem__(name, pic))

    def __len__(self):
        return len(self.frames)


def test_inpaint_arrays_pads_crops_and_keeps_known_pixels():
    runner = FillRunner(stride=16).activate()
    rgb, hole = _rgb(33, 50, 0), _hole(33, 50)
    (out,) = inpaint_arrays(runner, [rgb], [hole], texture="off")  # the network's fill alone
    assert runner.calls == [(1, 3, 48, 64)]  # padded to multiples of 16
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    assert np.array_equal(out[~hole], rgb[~hole])
    assert (out[hole] == 128).all()  # from_float(0.5) = round(127.5) = 128 (half to even)


def test_batches_group_equal_sizes_and_keep_order():
    frames = [(f"f{i}", _rgb(*size, i), _hole(*size)) for i, size in enumerate([(32, 32), (32, 32), (20, 40), (32, 32), (20, 40)])]
    source, runner = ListSource(frames), FillRunner(stride=16).activate()
    done = []
    report = run_pipeline(runner, source, batch=2, on_done=lambda name, ok: done.append((name, ok)))
    assert report.ok and sorted(report.written) == [f"f{i}" for i in range(5)]
    assert sorted(c[0] for c in runner.calls) == [1, 2, 2]  # two pairs, one single
    # items of one size come out in input order (what a video source relies on)
    order = [name for name, _ in done]
    assert [n for n in order if n in ("f0", "f1", "f3")] == ["f0", "f1", "f3"]
    for name, rgb, hole in frames:
        assert np.array_equal(source.saved[name].rgb[~hole], rgb[~hole])


def test_a_failing_item_does_not_stop_the_run():
    def broken():
        raise OSError("disk on fire")

    class Source(ListSource):
        def __iter__(self):
            yield Item("bad", broken, lambda pic: None)
            yield from super().__iter__()

    source = Source([("good", _rgb(16, 16, 1), _hole(16, 16))])
    report = run_pipeline(FillRunner().activate(), source)
    assert report.written == ["good"]
    assert report.failed == [("bad", "OSError: disk on fire")]


def test_files_alpha_grey_and_16bit_survive(tmp_path):
    rgba = np.dstack([_rgb(24, 40, 2), np.linspace(0, 255, 24 * 40).reshape(24, 40).astype(np.uint8)])
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    cv2.imwrite(str(tmp_path / "deep.png"), _rgb(24, 40, 3, np.uint16))
    cv2.imwrite(str(tmp_path / "grey.png"), _rgb(24, 40, 4)[:, :, 0])
    masks = tmp_path / "masks"
    masks.mkdir()
    for stem in ("rgba", "deep", "grey"):
        cv2.imwrite(str(masks / f"{stem}.png"), _hole(24, 40).astype(np.uint8) * 255)
    jobs, missing = plan_jobs(tmp_path, masks, str(tmp_path / "out") + "/")
    report = run_pipeline(FillRunner().activate(), ImageFiles(jobs, missing), batch=3)
    assert report.ok and len(report.written) == 3
    out = cv2.imread(str(tmp_path / "out" / "rgba.png"), cv2.IMREAD_UNCHANGED)
    assert out.shape == (24, 40, 4) and np.array_equal(out[:, :, 3], rgba[:, :, 3])
    deep = read_image(tmp_path / "out" / "deep.png")
    assert deep.rgb.dtype == np.uint16
    src = read_image(tmp_path / "deep.png")
    hole = _hole(24, 40)
    assert np.array_equal(deep.rgb[~hole], src.rgb[~hole])
    assert cv2.imread(str(tmp_path / "out" / "grey.png"), cv2.IMREAD_UNCHANGED).ndim == 2


def test_a_failed_write_leaves_the_existing_file(tmp_path):
    image = tmp_path / "a.png"
    write_image(image, _rgb(16, 16, 5))
    mask = tmp_path / "m.png"
    write_image(mask, (_hole(16, 16)[:, :, None] * np.uint8(255)).repeat(3, 2))
    out = tmp_path / "out.png"
    out.write_bytes(b"the user's file")

    class ReadOnlyFiles(ImageFiles):
        def __iter__(self):
            for item in super().__iter__():
                def save(picture, item=item):
                    raise PermissionError("read-only")
                yield Item(item.name, item.load, save)

    jobs, _ = plan_jobs(image, mask, out)
    report = run_pipeline(FillRunner().activate(), ReadOnlyFiles(jobs))
    assert report.failed and out.read_bytes() == b"the user's file"


def test_runner_validates_inputs():
    runner = FillRunner(stride=16)
    x, m = np.zeros((1, 3, 32, 32), np.float32), np.zeros((1, 1, 32, 32), np.float32)
    with pytest.raises(RuntimeError, match="not active"):
        runner.infer(x, m)
    with runner:
        with pytest.raises(ValueError, match="multiples of the stride"):
            runner.infer(x[..., :30], m[..., :30])
        with pytest.raises(TypeError, match="float32"):
            runner.infer(x.astype(np.float64), m)
        with pytest.raises(ValueError, match="mask must be"):
            runner.infer(x, m[:, :, :16])
    assert not runner.is_active
