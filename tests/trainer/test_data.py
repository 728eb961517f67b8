"""Training data: image folder, crops, masks, deterministic batching, validation set."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from inpaint.errors import UserError
from inpaint.trainer.data import (
    FixedValidationSet,
    FreeFormMasks,
    ImageFolder,
    InpaintDataset,
    MaskFolder,
    MixedMasks,
    StepBatches,
    center_crop,
    random_crop,
)
from inpaint.trainer.data.images import resize_short_side


def noise_rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    """(h, w, 3) uint8 RGB noise, so every crop position has distinct pixels."""
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A folder of 4 usable photos (nested, mixed formats and case) and 3 files to skip."""
    root = tmp_path / "photos"
    write_rgb(root / "a.png", noise_rgb(64, 90, 1))
    write_rgb(root / "sub" / "b.BMP", noise_rgb(80, 48, 2))
    write_rgb(root / "sub" / "deep" / "c.webp", noise_rgb(50, 50, 3))
    write_rgb(root / "sub" / "deep" / "d.JPG", noise_rgb(72, 60, 4))
    write_rgb(root / "tiny.png", noise_rgb(20, 100, 5))  # short side 20 < min_size
    (root / "sub" / "broken.jpg").write_bytes(b"this is not a JPEG file at all")
    (root / "notes.txt").write_text("not an image")
    return root


# ---------------------------------------------------------------- image folder


def test_image_folder_recursive_and_skips_with_one_warning_each(photos: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="inpaint"):
        images = ImageFolder(photos, min_size=32)
    names = [p.relative_to(photos).as_posix() for p in images.paths]
    assert names == ["a.png", "sub/b.BMP", "sub/deep/c.webp", "sub/deep/d.JPG"]
    assert images.sizes == [(64, 90), (80, 48), (50, 50), (72, 60)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert sum("broken.jpg" in w for w in warnings) == 1
    assert sum("tiny.png" in w and "smaller" in w for w in warnings) == 1
    # lossless formats decode to exactly the pixels written, in RGB order
    assert np.array_equal(images.load(0), noise_rgb(64, 90, 1))
    assert np.array_equal(images.load(1), noise_rgb(80, 48, 2))


def test_image_folder_converts_grey_alpha_and_16_bit(tmp_path: Path) -> None:
    grey16 = np.full((40, 40), 200 * 257, np.uint16)  # 16-bit 51400 -> 8-bit 200
    assert cv2.imwrite(str(tmp_path / "grey16.png"), grey16)
    bgra = np.zeros((40, 40, 4), np.uint8)
    bgra[...] = (10, 20, 30, 0)  # B, G, R, fully transparent alpha
    assert cv2.imwrite(str(tmp_path / "rgba.png"), bgra)
    images = ImageFolder(tmp_path, min_size=32)
    grey, rgba = images.load(0), images.load(1)
    assert grey.shape == rgba.shape == (40, 40, 3) and grey.dtype == rgba.dtype == np.uint8
    assert (grey == 200).all()
    assert (rgba == (30, 20, 10)).all()  # RGB, alpha dropped


def test_image_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such folder"):
        ImageFolder(tmp_path / "missing", min_size=32)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"no usable images.*32x32.*--data"):
        ImageFolder(tmp_path / "empty", min_size=32)
    write_rgb(tmp_path / "small" / "x.png", noise_rgb(16, 16))
    with pytest.raises(UserError, match="small: no usable images"):
        ImageFolder(tmp_path / "small", min_size=32)


# ---------------------------------------------------------------- crops


def is_window(crop: np.ndarray, img: np.ndarray) -> bool:
    """True when ``crop`` is a window of ``img`` or of its left-right mirror."""
    size = crop.shape[0]
    for src in (img, img[:, ::-1]):
        for y in range(src.shape[0] - size + 1):
            for x in range(src.shape[1] - size + 1):
                if np.array_equal(src[y:y + size, x:x + size], crop):
                    return True
    return False


def test_random_crop_is_a_window_of_the_photo_and_flips() -> None:
    img = noise_rgb(40, 56)
    crops = [random_crop(img, 32, np.random.default_rng(s)) for s in range(12)]
    for crop in crops:
        assert crop.shape == (32, 32, 3) and crop.dtype == np.uint8 and crop.flags.c_contiguous
        assert is_window(crop, img)
    flipped = [not any(np.array_equal(img[y:y + 32, x:x + 32], c) for y in range(9) for x in range(25))
               for c in crops]
    assert any(flipped) and not all(flipped)


def test_random_crop_scales_and_upsizes() -> None:
    img = noise_rgb(100, 160)
    # t = 0: the short side shrinks to the crop size, so the crop spans the whole height
    crop = random_crop(img, 50, np.random.default_rng(0), scale_range=(0.0, 0.0))
    assert is_window(crop, resize_short_side(img, 50))
    # multi-scale crops differ from native-resolution ones
    native = random_crop(img, 50, np.random.default_rng(0))
    assert not np.array_equal(native, random_crop(img, 50, np.random.default_rng(0), (0.0, 1.0)))
    # a photo smaller than the crop is enlarged first
    small = random_crop(noise_rgb(30, 45), 64, np.random.default_rng(1))
    assert small.shape == (64, 64, 3) and small.dtype == np.uint8
    with pytest.raises(ValueError):
        random_crop(img, 50, np.random.default_rng(0), scale_range=(0.5, 1.5))


def test_center_crop() -> None:
    img = noise_rgb(60, 100)
    out = center_crop(img, 60)
    assert np.array_equal(out, img[:, 20:80])
    assert center_crop(img, 30).shape == (30, 30, 3)


# ---------------------------------------------------------------- masks


def test_free_form_masks_ratio_range_kinds_and_determinism() -> None:
    masks = FreeFormMasks(128, hole_range=(0.05, 0.6))
    kinds: set[str] = set()
    for seed in range(50):
        mask, used = masks.generate(np.random.default_rng(seed))
        assert mask.shape == (128, 128) and mask.dtype == np.float32
        assert set(np.unique(mask)) <= {0.0, 1.0}
        assert 0.05 <= mask.mean() <= 0.6
        kinds.update(used)
    assert kinds == {"stroke", "box"}
    a, b = masks(np.random.default_rng(7)), masks(np.random.default_rng(7))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, masks(np.random.default_rng(8)))


@pytest.mark.parametrize("hole_range", [(0.0, 0.1), (0.3, 0.4), (0.5, 0.6), (0.01, 0.02)])
def test_free_form_masks_narrow_ranges(hole_range: tuple[float, float]) -> None:
    masks = FreeFormMasks(96, hole_range=hole_range)
    ratios = [masks(np.random.default_rng(s)).mean() for s in range(20)]
    assert min(ratios) >= hole_range[0] - 1 / 96 and max(ratios) <= hole_range[1] + 1 / 96
    assert min(ratios) > 0


def write_mask(path: Path, hole: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), hole.astype(np.uint8) * 255)


def l_shaped_hole(h: int = 60, w: int = 100) -> np.ndarray:
    hole = np.zeros((h, w), bool)
    hole[10:50, 20:30] = True
    hole[40:50, 20:80] = True
    return hole


def test_mask_folder_augmentation_keeps_binary_values_and_size(tmp_path: Path, caplog) -> None:
    write_mask(tmp_path / "m" / "l.png", l_shaped_hole())
    write_mask(tmp_path / "m" / "blank.png", np.zeros((20, 20), bool))  # no hole: skipped
    with caplog.at_level(logging.WARNING, logger="inpaint"):
        folder = MaskFolder(tmp_path / "m", 64)
    assert len(folder) == 1 and any("blank.png" in r.getMessage() for r in caplog.records)
    outs = [folder(np.random.default_rng(s)) for s in range(10)]
    for m in outs:
        assert m.shape == (64, 64) and m.dtype == np.float32
        assert set(np.unique(m)) <= {0.0, 1.0} and m.sum() > 0
    assert len({m.tobytes() for m in outs}) > 5  # rotated / flipped / dilated differently
    assert np.array_equal(folder(np.random.default_rng(3)), folder(np.random.default_rng(3)))


def test_mask_folder_without_rotation_or_dilation_is_a_flip_of_the_file(tmp_path: Path) -> None:
    write_mask(tmp_path / "l.png", l_shaped_hole())
    folder = MaskFolder(tmp_path, 50, rotate=False, max_dilation=0)
    base = cv2.resize(l_shaped_hole().astype(np.uint8), (50, 50), interpolation=cv2.INTER_NEAREST)
    flips = [base, base[:, ::-1], base[::-1], base[::-1, ::-1]]
    seen = set()
    for s in range(16):
        m = folder(np.random.default_rng(s))
        matches = [k for k, f in enumerate(flips) if np.array_equal(m, f)]
        assert len(matches) == 1
        seen.add(matches[0])
    assert seen == {0, 1, 2, 3}
    # dilation only adds hole pixels around the existing ones
    dilated = MaskFolder(tmp_path, 50, rotate=False, max_dilation=3)
    grown = [dilated(np.random.default_rng(s)) for s in range(8)]
    assert any(g.sum() > base.sum() for g in grown)


def test_mask_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such folder"):
        MaskFolder(tmp_path / "missing", 64)
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no usable mask images"):
        MaskFolder(tmp_path / "empty", 64)


class ConstantMasks:
    def __init__(self, size: int, value: float) -> None:
        self.size, self.value = size, value

    def __call__(self, rng: np.random.Generator) -> np.ndarray:
        return np.full((self.size, self.size), self.value, np.float32)


def test_mixed_masks_follows_probabilities() -> None:
    mixed = MixedMasks([ConstantMasks(8, 0.0), ConstantMasks(8, 1.0)], [1, 3])
    picks = [mixed(np.random.default_rng(s))[0, 0] for s in range(400)]
    assert 0.65 < np.mean(picks) < 0.85
    only_first = MixedMasks([ConstantMasks(8, 0.0), ConstantMasks(8, 1.0)], [1, 0])
    assert all(only_first(np.random.default_rng(s)).max() == 0 for s in range(20))
    with pytest.raises(ValueError):
        MixedMasks([ConstantMasks(8, 0.0), ConstantMasks(16, 1.0)], [1, 1])


# ---------------------------------------------------------------- dataset


def test_dataset_items_are_deterministic_per_key(photos: Path) -> None:
    images = ImageFolder(photos, min_size=32)
    data = InpaintDataset(images, FreeFormMasks(32), size=32, scale_range=(0.0, 1.0))
    item = data[(2, 12345)]
    assert item["image"].shape == (3, 32, 32) and item["image"].dtype == torch.float32
    assert item["mask"].shape == (1, 32, 32) and item["mask"].dtype == torch.float32
    assert 0.0 <= item["image"].min() and item["image"].max() <= 1.0
    assert set(item["mask"].unique().tolist()) <= {0.0, 1.0}
    again = data[(2, 12345)]
    assert torch.equal(item["image"], again["image"]) and torch.equal(item["mask"], again["mask"])
    other = data[(2, 12346)]
    assert not torch.equal(item["image"], other["image"])
    assert not torch.equal(item["mask"], other["mask"])
    # the image is the photo's pixels (a window at some scale), not noise or a copy of another photo
    assert not torch.equal(data[(0, 12345)]["image"], item["image"])


# ---------------------------------------------------------------- sampler


def take(batches: StepBatches, n: int) -> list[list[tuple[int, int]]]:
    return list(itertools.islice(batches, n))


def test_step_batches_resume_exactly() -> None:
    full = take(StepBatches(n_items=23, batch_size=4, seed=5), 40)
    for k in (1, 5, 17, 39):
        assert take(StepBatches(n_items=23, batch_size=4, seed=5, start_step=k), 40 - k) == full[k:]
    assert take(StepBatches(n_items=23, batch_size=4, seed=6), 40) != full
    assert all(isinstance(i, int) and isinstance(s, int) for batch in full for i, s in batch)


def test_step_batches_ranks_partition_the_global_batch() -> None:
    n, b = 20, 3
    single = take(StepBatches(n, 2 * b, seed=1), 30)
    rank0 = take(StepBatches(n, b, seed=1, rank=0, world_size=2), 30)
    rank1 = take(StepBatches(n, b, seed=1, rank=1, world_size=2), 30)
    for step in range(30):
        assert rank0[step] + rank1[step] == single[step]  # same items and seeds
        items0 = {i for i, _ in rank0[step]}
        items1 = {i for i, _ in rank1[step]}
        assert not items0 & items1 and len(items0) == len(items1) == b
    # an epoch uses 18 of the 20 items (3 steps of 6), each once
    for epoch in range(10):
        items = [i for step in single[3 * epoch:3 * epoch + 3] for i, _ in step]
        assert len(set(items)) == 18
    assert len({i for step in single for i, _ in step}) == n  # the left-over items rotate


def test_step_batches_small_set_cycles() -> None:
    batches = take(StepBatches(n_items=3, batch_size=4, seed=0), 6)
    items = [i for b in batches for i, _ in b]
    assert len(items) == 24 and set(items) == {0, 1, 2}
    with pytest.raises(ValueError):
        StepBatches(n_items=3, batch_size=4, seed=0, rank=2, world_size=2)


def test_dataloader_workers_give_the_same_tensors(photos: Path) -> None:
    images = ImageFolder(photos, min_size=32)
    data = InpaintDataset(images, FreeFormMasks(32), size=32, scale_range=(0.5, 1.0))
    batches = {}
    for workers in (0, 2):
        loader = torch.utils.data.DataLoader(
            data, batch_sampler=StepBatches(len(data.images), 3, seed=9, start_step=4), num_workers=workers)
        batches[workers] = list(itertools.islice(loader, 3))
    for a, b in zip(batches[0], batches[2]):
        assert a["image"].shape == (3, 3, 32, 32) and a["mask"].shape == (3, 1, 32, 32)
        assert torch.equal(a["image"], b["image"]) and torch.equal(a["mask"], b["mask"])
    assert not torch.equal(batches[0][0]["image"], batches[0][1]["image"])


# ---------------------------------------------------------------- validation


def test_fixed_validation_set(photos: Path) -> None:
    images = ImageFolder(photos, min_size=32)
    val = FixedValidationSet(images, 32, n_per_image=3, seed=0)
    assert len(val) == 12 and len(val.bins) == 6
    again = FixedValidationSet(images, 32, n_per_image=3, seed=0)
    for i in range(len(val)):
        item, twin = val[i], again[i]
        assert torch.equal(item["image"], twin["image"]) and torch.equal(item["mask"], twin["mask"])
        lo, hi = val.bins[val.bin_of(i)]
        assert lo - 1 / 32 <= item["mask"].mean().item() <= hi + 1 / 32
        expected = center_crop(images.load(i // 3), 32).transpose(2, 0, 1) / 255.0
        assert np.allclose(item["image"].numpy(), expected, atol=1e-6)
    assert {val.bin_of(i) for i in range(len(val))} == set(range(6))
    other = FixedValidationSet(images, 32, n_per_image=3, seed=1)
    assert not torch.equal(other[0]["mask"], val[0]["mask"])
    with pytest.raises(IndexError):
        val[12]
