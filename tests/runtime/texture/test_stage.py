"""The texture stage: exact where it must be (the operator's algebra, exact copies, known pixels, no detail)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inpaint.ops.attention_aggregate.numpy_impl import masked_attention_aggregate_numpy
from inpaint.runtime.texture import check_texture
from inpaint.runtime.texture.aggregate import aggregate, aggregate_raw
from inpaint.runtime.texture.match import Matches, match_cells
from inpaint.runtime.texture.stage import STRENGTH, WindowDetail, texture_fill, window_detail
from inpaint.errors import UserError


def _random_matches(g: int, rate: tuple[int, int], seed: int) -> Matches:
    rng = np.random.default_rng(seed)
    key = rng.integers(0, g * g, g * g)
    key[rng.random(g * g) < 0.3] = -1  # cells that are not queries
    return Matches(g, rate, key.astype(np.int64))


@pytest.mark.parametrize("rate", [(4, 4), (3, 5), (1, 2)])
def test_aggregate_raw_is_the_operator(rate):
    """The sparse paste equals the MaskedAttentionAggregate kernel fed the one-hot scores, on every pixel."""
    g = 8
    m = _random_matches(g, rate, 1)
    x = np.random.default_rng(2).random((1, 3, g * rate[0], g * rate[1]), dtype=np.float32)
    want = masked_attention_aggregate_numpy(x, m.scores())[0].transpose(1, 2, 0)
    src = x[0].transpose(1, 2, 0)
    got = aggregate_raw(m, lambda r, c: src[np.ix_(r, c)], (0, g * rate[0]), (0, g * rate[1]), src.shape[:2])
    np.testing.assert_allclose(got, want, atol=1e-6)
    # a sub-region gives the same pixels
    h, w = src.shape[:2]
    part = aggregate_raw(m, lambda r, c: src[np.ix_(r, c)], (1, h - 1), (2, w - 1), src.shape[:2])
    np.testing.assert_allclose(part, want[1 : h - 1, 2 : w - 1], atol=1e-6)


def _pixel_reference(m, src, rows, cols, scale):
    """The aggregation pixel by pixel, as the module docstring states it (sum over covering queries / 4)."""
    (ph, pw), (rh, rw), g = m.pad, m.rate, m.g
    out = np.zeros((rows[1] - rows[0], cols[1] - cols[0], src.shape[2]), np.float32)
    for t in range(*rows):
        x = (t + 0.5) / scale[0] - 0.5
        for u in range(*cols):
            y = (u + 0.5) / scale[1] - 0.5
            for i in range(g):
                if not i * rh - ph <= x + 0.5 < i * rh - ph + 2 * rh:
                    continue
                for j in range(g):
                    if not j * rw - pw <= y + 0.5 < j * rw - pw + 2 * rw:
                        continue
                    k = m.key[i * g + j]
                    if k < 0:
                        continue
                    si = min(max(t + round((k // g - i) * rh * scale[0]), 0), src.shape[0] - 1)
                    sj = min(max(u + round((k % g - j) * rw * scale[1]), 0), src.shape[1] - 1)
                    out[t - rows[0], u - cols[0]] += src[si, sj]
    return out / 4


def test_aggregate_at_a_larger_scale_follows_the_formula():
    g, rate, scale = 6, (3, 4), (2.5, 1.75)
    m = _random_matches(g, rate, 5)
    src = np.random.default_rng(6).random((int(g * rate[0] * scale[0]) + 3, int(g * rate[1] * scale[1]) + 2, 2),
                                          dtype=np.float32)
    rows, cols = (3, 40), (0, 37)
    got = aggregate_raw(m, lambda r, c: src[np.ix_(r, c)], rows, cols, src.shape[:2], channels=2, scale=scale)
    np.testing.assert_allclose(got, _pixel_reference(m, src, rows, cols, scale), atol=1e-6)


def test_variance_preserving_blend():
    """Coherent copies (one shift everywhere) come back exactly; independent copies keep their energy."""
    g, r = 8, 4
    src = np.random.default_rng(0).random((g * r, g * r, 3), dtype=np.float32)
    i, j = np.divmod(np.arange(g * g), g)
    shifted = Matches(g, (r, r), np.where(j < g - 2, i * g + j + 2, -1))  # every cell copies the one 2 to the right
    y, gain = aggregate(shifted, lambda a, b: src[np.ix_(a, b)], (8, 24), (4, 20), src.shape[:2])
    np.testing.assert_allclose(y, src[8:24, 12:28], atol=1e-6)
    assert np.all(gain == 1.0)
    incoherent = Matches(g, (r, r), np.random.default_rng(1).permutation(g * g))
    zero_mean = src - src.mean((0, 1))
    raw = aggregate_raw(incoherent, lambda a, b: zero_mean[np.ix_(a, b)], (0, 32), (0, 32), src.shape[:2])
    vp, _ = aggregate(incoherent, lambda a, b: zero_mean[np.ix_(a, b)], (0, 32), (0, 32), src.shape[:2])
    interior = (slice(4, 28), slice(4, 28))
    assert raw[interior].std() < 0.6 * zero_mean.std()  # the plain mean of 4 independent copies loses half
    assert vp[interior].std() == pytest.approx(zero_mean.std(), rel=0.15)  # restored


def _periodic(h: int, w: int, period: int, seed: int = 0) -> np.ndarray:
    tile = np.random.default_rng(seed).random((period, period, 3), dtype=np.float32)
    tile = cv2.GaussianBlur(tile, (0, 0), 0.7)
    return np.tile(tile, (h // period + 1, w // period + 1, 1))[:h, :w]


def test_exact_patch_comes_back():
    """A hole whose content repeats exactly in the known region (and a fill that agrees) gets those pixels back."""
    h = w = 128  # g = 32 cells of 4 px; the texture repeats every 16 px = 4 cells
    image = _periodic(h, w, 16)
    hole = np.zeros((h, w), bool)
    hole[48:80, 40:88] = True
    out, matches = texture_fill(image, hole, image.copy(), strength=1.0)
    assert matches is not None and matches.any
    # the texture + the fill's low-pass rebuild the picture to rounding; copies from keys at the picture's
    # top and bottom rows differ by up to 2 levels (the low-pass reflects there, the pattern does not)
    err = np.abs(out[hole] - image[hole]).max(-1)
    assert np.mean(err < 0.5 / 255) > 0.9 and err.max() < 2.5 / 255
    np.testing.assert_array_equal(out[~hole], image[~hole])


def test_known_pixels_untouched_and_off():
    rng = np.random.default_rng(3)
    image = rng.random((96, 120, 3), dtype=np.float32)
    hole = np.zeros((96, 120), bool)
    hole[30:60, 40:90] = True
    fill = image.copy()
    fill[hole] = 0.5
    out, _ = texture_fill(image, hole, fill)
    np.testing.assert_array_equal(out[~hole], fill[~hole])
    assert np.abs(out[hole] - 0.5).max() > 0.05  # texture went in
    off, none = texture_fill(image, hole, fill, strength=0.0)
    assert none is None and off is fill


def test_no_key_means_no_texture():
    image = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    hole = np.ones((64, 64), bool)
    out, matches = texture_fill(image, hole, np.full_like(image, 0.3))
    assert matches is None and np.all(out == np.float32(0.3))
    tiny, m = texture_fill(image[:3, :3], hole[:3, :3], image[:3, :3])
    assert m is None


def test_full_resolution_residual_of_a_smooth_photo_is_zero():
    """Step 2 adds nothing where the photo has no detail above the working size (a smooth photo)."""
    h, w, s = 64, 64, 4
    yy, xx = np.mgrid[0 : h * s, 0 : w * s].astype(np.float32)
    smooth = np.stack([0.3 + 0.2 * np.sin(xx / 150), 0.5 + 0.1 * np.cos(yy / 170), 0.4 + 0 * xx], -1)
    photo = np.rint(smooth * 65535).astype(np.uint16)
    small = cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 65535
    hole = np.zeros((h, w), bool)
    hole[20:40, 20:44] = True
    _, matches = texture_fill(small, hole, small.copy())
    detail = WindowDetail(photo, small, matches, 1.0, cv2.INTER_CUBIC)
    y = window_detail(detail, (80, 160), (80, 176))
    assert np.abs(y).max() < 0.1 / 255  # bicubic resampling error only: a tenth of an 8-bit step
    # a photo with fine detail gets some
    rough = photo.astype(np.float32) + np.random.default_rng(0).normal(0, 2000, photo.shape)
    detail.pixels = np.clip(rough, 0, 65535).astype(np.uint16)
    assert np.abs(window_detail(detail, (80, 160), (80, 176))).mean() > 0.005


def test_match_prefers_the_look_of_the_fill():
    """The query copies from where the fill looks like the key: left half red, right half blue."""
    h, w = 64, 64
    image = np.zeros((h, w, 3), np.float32)
    image[:, :32, 0] = 1.0
    image[:, 32:, 2] = 1.0
    hole = np.zeros((h, w), bool)
    hole[24:40, 8:24] = True  # inside the red half
    m = match_cells(image, hole)
    keys = m.key[m.key >= 0]
    g, (rh, rw) = m.g, m.rate
    cols = (keys % g) * rw
    assert np.all(cols < 32 - rw)  # every key lies in the red half


def test_check_texture():
    assert check_texture("on") == STRENGTH and check_texture(None) == STRENGTH
    assert check_texture("off") == 0.0 and check_texture("0.5") == 0.5
    with pytest.raises(UserError, match="--texture"):
        check_texture("lots")
    with pytest.raises(UserError, match="0-2"):
        check_texture(3)


def test_energy_prior_keeps_smooth_regions_smooth():
    """Same colour everywhere, rough right half: a hole in the smooth left half copies from the smooth half."""
    h, w = 96, 128
    rng = np.random.default_rng(0)
    image = np.full((h, w, 3), 0.5, np.float32)
    image[:, 64:] += rng.normal(0, 0.1, (h, 64, 3)).astype(np.float32)
    hole = np.zeros((h, w), bool)
    hole[36:60, 16:40] = True
    fill = image.copy()
    fill[hole] = 0.5
    out, m = texture_fill(image, hole, fill, strength=1.0)
    g, (rh, rw) = m.g, m.rate
    keys = m.key[m.key >= 0]
    assert np.all((keys % g + 2) * rw <= 64)  # every key's patch lies in the smooth half
    assert np.abs(out[hole] - 0.5).max() < 0.02


def test_coherent_copies_are_preferred_within_the_tolerance():
    from inpaint.runtime.texture import match

    g = 6
    qs = np.array([14, 15])  # two horizontal neighbours (row 2, columns 2 and 3)
    ks = np.array([0, 1, 30])
    key = np.full(g * g, -1, np.int64)
    key[qs] = [0, 30]  # own bests: 14 -> 0, 15 -> 30; the continuation of 14's copy for 15 is key 1
    near = np.array([[0.0, 5.0, 5.0], [5.0, 1.1, 1.0]], np.float32)  # key 1 is 10 % worse for query 15
    got = match._coherent(key.copy(), near, qs, ks, g)
    assert got[15] == 1 and got[14] == 0
    far = np.array([[0.0, 5.0, 5.0], [5.0, 2.0, 1.0]], np.float32)  # twice as bad: keep the own best
    assert match._coherent(key.copy(), far, qs, ks, g)[15] == 30
