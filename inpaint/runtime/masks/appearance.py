"""Colour models of an object and of its background: Gaussian mixtures in OpenCV GrabCut's own layout.

A model is a (1, 65) float64 array, as ``cv2.grabCut`` reads and writes them (grabcut.cpp, class GMM):
5 component weights, then 5 means (3 values each), then 5 covariances (3 x 3, row major). Pixels are
(N, 3) colour values 0..255 in the picture's own channel order (RGB here). Keeping OpenCV's layout lets
a model learnt on the key frame be handed back to ``cv2.grabCut(..., cv2.GC_EVAL_FREEZE_MODEL)`` on later
frames: the object's colours stay those of the key frame, so the segmentation cannot drift in colour.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["COMPONENTS", "learn_models", "fit_model", "log_likelihood", "sample"]

#: components per mixture: fixed by OpenCV's GrabCut (GMM::componentsCount)
COMPONENTS = 5
#: added to a covariance's diagonal, as grabcut.cpp does for a singular one (its 0.01)
_VARIANCE_FLOOR = 0.01
#: pixels sampled to fit a model (k-means + moments on more changes nothing visible and costs time)
SAMPLES = 4000


def sample(pixels: np.ndarray, n: int = SAMPLES, seed: int = 0) -> np.ndarray:
    """At most ``n`` rows of (N, 3) ``pixels`` picked at random (repeatably)."""
    if len(pixels) <= n:
        return pixels
    return pixels[np.random.default_rng(seed).choice(len(pixels), n, replace=False)]


def learn_models(rgb: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(background, object) models learnt from (H, W, 3) uint8 ``rgb`` and (H, W) bool ``mask`` (True = object)
    by GrabCut's own initialisation (k-means per side; no graph cut: ``iterCount=0``)."""
    trimap = np.where(mask, cv2.GC_FGD, cv2.GC_BGD).astype(np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)
    cv2.grabCut(np.ascontiguousarray(rgb), trimap, None, bgd, fgd, 0, cv2.GC_INIT_WITH_MASK)
    return bgd, fgd


def fit_model(pixels: np.ndarray) -> np.ndarray:
    """A (1, 65) model of (N, 3) pixels (N >= 1): k-means into up to 5 clusters, then each cluster's weight,
    mean and covariance (grabcut.cpp's learning step)."""
    x = sample(np.asarray(pixels, np.float32).reshape(-1, 3))
    k = min(COMPONENTS, len(x))
    cv2.setRNGSeed(0)
    criteria = (cv2.TERM_CRITERIA_MAX_ITER, 10, 0.0)  # grabcut.cpp: kMeansItCount = 10
    _, labels, _ = cv2.kmeans(x, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    labels = labels.ravel()
    model = np.zeros((1, 65), np.float64)
    w, mean, cov = model[0, :5], model[0, 5:20].reshape(5, 3), model[0, 20:].reshape(5, 3, 3)
    xd = x.astype(np.float64)
    for c in range(k):
        pts = xd[labels == c]
        if len(pts) == 0:
            continue
        w[c] = len(pts) / len(xd)
        mean[c] = pts.mean(0)
        d = pts - mean[c]
        cov[c] = d.T @ d / len(pts) + np.eye(3) * _VARIANCE_FLOOR
    return model


def _components(model: np.ndarray) -> list[tuple[float, np.ndarray, np.ndarray, float]]:
    """(weight, mean (3,) float32, inverse covariance (3, 3) float32, log normaliser) of each used component."""
    m = np.asarray(model, np.float64).reshape(-1)
    w, mean, cov = m[:5], m[5:20].reshape(5, 3), m[20:].reshape(5, 3, 3)
    out = []
    for c in range(COMPONENTS):
        det = np.linalg.det(cov[c]) if w[c] > 0 else 0.0
        if det > 1e-12:
            norm = np.log(w[c]) - 0.5 * np.log((2 * np.pi) ** 3 * det)
            out.append((float(w[c]), mean[c].astype(np.float32), np.linalg.inv(cov[c]).astype(np.float32), float(norm)))
    return out


def log_likelihood(model: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """log p(pixel | model) for (N, 3) pixels: (N,) float32 (the mixture's density, as grabcut.cpp's GMM())."""
    x = np.asarray(pixels, np.float32).reshape(-1, 3)
    comps = _components(model)
    if not comps:
        return np.full(len(x), -69.0, np.float32)  # log(1e-30): no usable component
    terms = np.empty((len(comps), len(x)), np.float32)
    for k, (_, mean, inv, norm) in enumerate(comps):
        d = x - mean
        terms[k] = norm - 0.5 * ((d @ inv) * d).sum(1)
    top = terms.max(0)
    return top + np.log(np.exp(terms - top).sum(0))  # log-sum-exp: no underflow far from every component
