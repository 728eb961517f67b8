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


#: erosion of the hole before the detail figure is taken: 2 px from its edge (../shared/TEXTURE.md), i.e. a
#: 5 x 5 square structuring element, so that the seam between fill and photo does not count as texture
DETAIL_ERODE_PX = 2


def detail_energy(image: np.ndarray, region: np.ndarray) -> float:
    """Mean |Laplacian| of the grey image over ``region``: the fine texture a picture holds there.

    image: (H, W, 3) RGB or (H, W) grey, float in [0, 1]; uint8 (0-255) is divided by 255 first, so the two
    kinds give the same figure. region: (H, W) bool (anything else is cast with ``!= 0``).
    Grey = OpenCV's RGB2GRAY (ITU-R BT.601 weights 0.299, 0.587, 0.114) on float32; Laplacian = OpenCV's 3 x 3
    aperture (``ksize=1``: [[0, 1, 0], [1, -4, 1], [0, 1, 0]]), borders reflected (BORDER_REFLECT_101).
    Returns a float >= 0 in grey levels of [0, 1] per pixel; nan for an empty region.
    """
    x = np.asarray(image)
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    region = np.asarray(region) != 0
    grey = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) if x.ndim == 3 else x
    lap = np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=1))
    return float(lap[region].mean()) if region.any() else float("nan")


def detail_ratio(output: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> float:
    """TEXTURE.md's "detail": :func:`detail_energy` of ``output`` over that of ``truth`` inside the hole eroded
    :data:`DETAIL_ERODE_PX` px (the whole hole when erosion leaves nothing). 1 = as much fine texture as the
    photo had there, 0 = flat; noise raises it (read it with the hole PSNR).

    output, truth: (H, W, 3) or (H, W) float in [0, 1] (or uint8, see :func:`detail_energy`). hole: (H, W) bool,
    True = hole. Erosion: ``cv2.erode`` with a 5 x 5 square of ones, outside the picture counting as known, so the
    core keeps the hole pixels at >= 3 px (chessboard distance) from any known pixel; the 3 x 3 Laplacian there
    reads pixels >= 2 px in, never the seam between the photo and the fill (the known pixels and the hole's
    outermost pixel row).
    Returns a float >= 0; nan when the truth is flat there (nothing to compare with) or the hole is empty.
    """
    hole = np.asarray(hole) != 0
    side = 2 * DETAIL_ERODE_PX + 1
    core = cv2.erode(hole.astype(np.uint8), np.ones((side, side), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
    if not core.any():
        core = hole
    want = detail_energy(truth, core)
    if not want > 0:
        return float("nan")
    return detail_energy(output, core) / want
