import numpy as np
import pytest

from inpaint.metrics import psnr, ssim


def test_psnr_known_value():
    a = np.zeros((8, 8, 3))
    b = np.full((8, 8, 3), 0.1)  # mse 0.01 -> 20 dB
    assert psnr(a, b) == pytest.approx(20.0)
    assert psnr(a, a) == 100.0


def test_ssim_identity_and_ordering():
    rng = np.random.default_rng(0)
    x = rng.random((32, 32, 3))
    assert ssim(x, x) == pytest.approx(1.0)
    small = np.clip(x + rng.normal(0, 0.02, x.shape), 0, 1)
    large = np.clip(x + rng.normal(0, 0.2, x.shape), 0, 1)
    assert 1.0 > ssim(x, small) > ssim(x, large) > 0.0


def test_ssim_constant_shift_reference():
    """For constant images SSIM reduces to the luminance term (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1)."""
    a, b = np.full((20, 20), 0.5), np.full((20, 20), 0.3)
    c1 = 0.01**2
    assert ssim(a, b) == pytest.approx((2 * 0.5 * 0.3 + c1) / (0.25 + 0.09 + c1), rel=1e-9)
