"""The tracker on a synthetic clip: the object moves, leaves the frame (empty masks), comes back (found
again); the colour models it freezes; it does not drift onto a still background."""

from __future__ import annotations

import numpy as np

from inpaint.runtime.masks.appearance import fit_model, learn_models, log_likelihood
from inpaint.runtime.masks.track import MaskTracker
from tests.runtime.masks.scenes import iou, moving, object_texture, background


def _track(frames, truths, k):
    out = {k: truths[k]}
    for order in (range(k + 1, len(frames)), range(k - 1, -1, -1)):
        tracker = MaskTracker(frames[k], truths[k])
        for j in order:
            out[j] = tracker.step(frames[j])
    return [out[j] for j in range(len(frames))]


def test_moving_leaving_and_coming_back():
    frames, truths = moving()
    masks = _track(frames, truths, k=4)
    gone = [j for j, t in enumerate(truths) if not t.any()]
    assert gone == list(range(11, 18))  # the scene: out of view on these frames
    assert all(not masks[j].any() for j in gone)  # empty while gone (no mask left on the background)
    present = [j for j, t in enumerate(truths) if t.sum() > 200]
    assert np.mean([iou(masks[j], truths[j]) for j in present]) > 0.9
    assert masks[-1].any() and iou(masks[-1], truths[-1]) > 0.9  # found again after coming back
    recall = sum((m & t).sum() for m, t in zip(masks, truths)) / sum(t.sum() for t in truths)
    assert recall > 0.9


def test_still_object_stays_put():
    frames, truths = moving(n=6, speed=0)
    masks = _track(frames, truths, k=0)
    assert all(iou(m, truths[0]) > 0.98 for m in masks)


def test_models_tell_object_from_background():
    obj, bg = object_texture(40, 40).reshape(-1, 3), background(40, 40).reshape(-1, 3)
    rgb = np.concatenate([obj, bg]).reshape(80, 40, 3)
    mask = np.zeros((80, 40), bool)
    mask[:40] = True
    bgd, fgd = learn_models(rgb, mask)
    assert bgd.shape == fgd.shape == (1, 65) and np.isclose(fgd[0, :5].sum(), 1.0)
    assert (log_likelihood(fgd, obj) > log_likelihood(bgd, obj)).mean() > 0.99
    assert (log_likelihood(bgd, bg) > log_likelihood(fgd, bg)).mean() > 0.99
    own = fit_model(bg)
    assert (log_likelihood(own, bg) > log_likelihood(fgd, bg)).mean() > 0.99


def test_log_likelihood_matches_a_single_gaussian():
    model = np.zeros((1, 65))
    model[0, 0] = 1.0
    model[0, 5:8] = (100, 50, 20)
    model[0, 20:29] = np.diag([4.0, 9.0, 16.0]).ravel()
    x = np.array([[100, 50, 20], [102, 53, 24]], np.float32)
    expect = -0.5 * np.array([0, 1 + 1 + 1]) - 0.5 * np.log((2 * np.pi) ** 3 * 4 * 9 * 16)
    assert np.allclose(log_likelihood(model, x), expect, atol=1e-4)
