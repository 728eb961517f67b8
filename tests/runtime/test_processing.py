"""Padding, cropping, batching, compositing and mask dilation (pure numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint.runtime.processing import (
    composite,
    crop,
    dilate_mask,
    from_float,
    from_nchw,
    masks_to_nchw,
    pad_to_multiple,
    reflect_indices,
    to_float,
    to_nchw,
)

RNG = np.random.default_rng(1)


@pytest.mark.parametrize("size,total", [(5, 5), (5, 9), (5, 13), (3, 40), (2, 7), (128, 300)])
def test_reflect_indices_match_numpy_reflect(size: int, total: int) -> None:
    x = np.arange(size)
    assert np.array_equal(x[reflect_indices(size, total)], np.pad(x, (0, total - size), mode="reflect"))


def test_reflect_indices_of_a_single_sample_repeat_it() -> None:
    assert np.array_equal(reflect_indices(1, 6), np.zeros(6, dtype=np.int64))
    with pytest.raises(ValueError):
        reflect_indices(5, 4)


def test_pad_odd_size_to_128_and_crop_back() -> None:
    x = RNG.random((2, 3, 333, 517), dtype=np.float32)
    padded, hw = pad_to_multiple(x, 128)
    assert padded.shape == (2, 3, 384, 640) and padded.dtype == np.float32 and hw == (333, 517)
    assert np.array_equal(crop(padded, hw), x)
    # bottom/right reflection without repeating the edge: row 333 is row 331, column 517 is column 515
    assert np.array_equal(padded[:, :, 333, :517], x[:, :, 331])
    assert np.array_equal(padded[:, :, :333, 518], x[:, :, :, 514])
    assert np.array_equal(padded, np.pad(x, ((0, 0), (0, 0), (0, 51), (0, 123)), mode="reflect"))


def test_pad_tiny_image_reflects_repeatedly() -> None:
    x = RNG.random((1, 1, 5, 7), dtype=np.float32)
    padded, hw = pad_to_multiple(x, 128)
    assert padded.shape == (1, 1, 128, 128) and hw == (5, 7)
    assert np.array_equal(crop(padded, hw), x)
    # every padded row is one of the rows 0..4, in the pattern 0 1 2 3 4 3 2 1 0 1 ...
    rows = np.array([0, 1, 2, 3, 4, 3, 2, 1])
    assert np.array_equal(padded[0, 0, :16, 0], x[0, 0, np.tile(rows, 2), 0])
    one = np.full((1, 1, 1, 1), 0.25, np.float32)
    padded, _ = pad_to_multiple(one, 128)
    assert padded.shape == (1, 1, 128, 128) and np.all(padded == 0.25)


def test_pad_is_a_no_op_on_multiples_and_checks_arguments() -> None:
    x = RNG.random((1, 1, 256, 128), dtype=np.float32)
    padded, hw = pad_to_multiple(x, 128)
    assert padded is x and hw == (256, 128)
    assert pad_to_multiple(RNG.random((1, 2, 3, 5)), 1)[0].shape == (1, 2, 3, 5)
    with pytest.raises(ValueError):
        pad_to_multiple(x[0], 128)
    with pytest.raises(ValueError):
        pad_to_multiple(x, 0)


def test_image_and_mask_batches() -> None:
    a, b = RNG.integers(0, 256, (2, 9, 11, 3), dtype=np.uint8)
    batch = to_nchw([a, b])
    assert batch.shape == (2, 3, 9, 11) and batch.dtype == np.float32
    assert batch.min() >= 0 and batch.max() <= 1
    assert np.array_equal(from_float(from_nchw(batch), np.uint8), np.stack([a, b]))
    holes = [RNG.random((9, 11)) > 0.5, np.zeros((9, 11), bool)]
    masks = masks_to_nchw(holes)
    assert masks.shape == (2, 1, 9, 11) and masks.dtype == np.float32
    assert set(np.unique(masks)) <= {0.0, 1.0} and np.array_equal(masks[0, 0] == 1, holes[0])
    with pytest.raises(ValueError, match="one size"):
        to_nchw([a, a[:5]])
    with pytest.raises(ValueError):
        masks_to_nchw([holes[0], holes[0][:3]])


def test_to_nchw_accepts_pictures_and_uint16() -> None:
    class Pic:  # anything with an ``rgb`` attribute, like inpaint.runtime.io.Picture
        rgb = np.full((4, 5, 3), 65535, np.uint16)

    batch = to_nchw([Pic()])
    assert batch.shape == (1, 3, 4, 5) and np.all(batch == 1.0)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_composite_keeps_known_pixels_bit_identical(dtype: type) -> None:
    top = np.iinfo(dtype).max
    original = RNG.integers(0, top, (21, 19, 3), endpoint=True, dtype=dtype)
    hole = np.zeros((21, 19), bool)
    hole[5:12, 3:9] = True
    generated = RNG.random((21, 19, 3), dtype=np.float32)
    # what a model returns for known pixels is not exactly the input: make it visibly different
    generated[~hole] = 1 - to_float(original)[~hole]
    out = composite(original, generated, hole)
    assert out.dtype == dtype
    assert np.array_equal(out[~hole], original[~hole])
    assert np.array_equal(out[hole], from_float(generated[hole], dtype))
    assert not np.array_equal(out[hole], original[hole])


def test_composite_batched_and_shape_checks() -> None:
    original = RNG.integers(0, 256, (2, 6, 6, 3), dtype=np.uint8)
    hole = np.zeros((2, 6, 6), bool)
    hole[1, 2, 2] = True
    out = composite(original, np.zeros((2, 6, 6, 3), np.float32), hole)
    assert np.array_equal(out[0], original[0]) and out[1, 2, 2].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="equal sizes"):
        composite(original[0], np.zeros((8, 8, 3), np.float32), hole[0])


def test_dilate_mask_grows_a_square_and_stays_in_bounds() -> None:
    hole = np.zeros((9, 9), bool)
    hole[4, 4] = True
    hole[0, 8] = True
    grown = dilate_mask(hole, 2)
    expected = np.zeros((9, 9), bool)
    expected[2:7, 2:7] = True
    expected[0:3, 6:9] = True
    assert np.array_equal(grown, expected)
    same = dilate_mask(hole)
    assert np.array_equal(same, hole) and same is not hole
    batch = dilate_mask(np.stack([hole, np.zeros_like(hole)]), 1)
    assert batch.shape == (2, 9, 9) and batch[0].sum() == 9 + 4 and not batch[1].any()
    assert dilate_mask(np.ones((1, 1), bool), 5).all()
    with pytest.raises(ValueError):
        dilate_mask(hole, -1)
