"""Image-quality metrics in NumPy (no torch): used by training validation and by ``inpaint eval``.

Both take images as float arrays in [0, 1], shape (H, W, 3) or (H, W), over the whole image.
"""

from __future__ import annotations

import cv2
import numpy as np

#: SSIM constants of Wang et al. 2004 ("Image quality assessment: from error visibility to structural
#: similarity"): K1 = 0.01, K2 = 0.03, an 11x11 Gaussian window with sigma 1.5, data range L = 1.
SSIM_K1, SSIM_K2, SSIM_WINDOW, SSIM_SIGMA = 0.01, 0.03, 11, 1.5


def psnr(a: np.ndarray, b: np.ndarray, max_psnr: float = 100.0) -> float:
    """Peak signal-to-noise ratio in dB for data range 1; identical images give ``max_psnr``."""
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return max_psnr if mse <= 10 ** (-max_psnr / 10) else 10 * np.log10(1.0 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004), per channel then averaged; statistics over the valid window region."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim == 2:
        a, b = a[..., None], b[..., None]
    c1, c2 = SSIM_K1**2, SSIM_K2**2
    g = cv2.getGaussianKernel(SSIM_WINDOW, SSIM_SIGMA)
    window = g @ g.T
    r = SSIM_WINDOW // 2

    def blur(x):
        return cv2.filter2D(x, -1, window, borderType=cv2.BORDER_REFLECT)[r:-r, r:-r]

    scores = []
    for c in range(a.shape[2]):
        x, y = a[..., c], b[..., c]
        mx, my = blur(x), blur(y)
        vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
        s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
        scores.append(s.mean())
    return float(np.mean(scores))
