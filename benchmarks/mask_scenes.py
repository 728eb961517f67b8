"""Scenes for benchmarks/masks.py whose true mask is known: objects of real texture pasted onto real photos,
and clips made from real photos (no real video is stored here) with such an object moving in them.

- **Object**: a silhouette (:func:`inpaint.runtime.silhouettes.object_silhouette`) filled with a window of
  ANOTHER photo of the same set (the most textured of 8 random windows: objects have texture, not flat
  colour), pasted with a soft edge (alpha = the shape blurred with sigma 0.8 px, as a photographed edge);
  the truth is alpha >= 0.5.
- **Photo**: the composite, written and read back as JPEG quality 92 (the photos are JPEGs).
- **Clip**: a 640x360 window over a real photo, enlarged to hold it: ``pan`` (the window slides across),
  ``zoom`` (the window shrinks: the camera zooms in), ``still`` (a fixed window with sensor noise). The
  object moves along a path across the frame, grows or shrinks, turns a little, and in ``still`` leaves the
  frame and comes back. Encoded with H.264 (crf 18, the project's default output quality).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from inpaint.runtime.silhouettes import object_silhouette

PHOTOS = Path("/work/shared/data/photos")
#: JPEG quality the composites are stored at (the validation photos' own quality is about this)
JPEG_QUALITY = 92
#: sigma (px) of the pasted object's edge
EDGE_SIGMA = 0.8


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(path)
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _energy(patch: np.ndarray) -> float:
    grey = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.mean(np.abs(cv2.Laplacian(grey, cv2.CV_32F))))


def texture_window(src: np.ndarray, hw: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """(h, w, 3): the most textured of 8 random windows of ``src`` (enlarged when smaller than the window)."""
    h, w = hw
    scale = max(h / src.shape[0], w / src.shape[1], 1.0)
    if scale > 1:
        src = cv2.resize(src, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    best, best_e = None, -1.0
    for _ in range(8):
        y = int(rng.integers(0, src.shape[0] - h + 1))
        x = int(rng.integers(0, src.shape[1] - w + 1))
        patch = src[y : y + h, x : x + w]
        e = _energy(patch)
        if e > best_e:
            best, best_e = patch, e
    return np.ascontiguousarray(best)


def composite(bg: np.ndarray, obj: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """bg, obj (H, W, 3) uint8; alpha (H, W) float in [0, 1] -> (H, W, 3) uint8."""
    a = alpha[:, :, None]
    return np.clip(a * obj + (1 - a) * bg, 0, 255).round().astype(np.uint8)


def jpeg(rgb: np.ndarray) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])


@dataclass
class PhotoScene:
    name: str
    rgb: np.ndarray     # (H, W, 3) uint8
    truth: np.ndarray   # (H, W) bool, True = object
    box: tuple[int, int, int, int]  # x, y, w, h: the truth's bounding box grown by BOX_MARGIN
    rough: np.ndarray   # (H, W) bool: a simulated rough brush over the object


#: the simulated user's box: the object's bounding box grown by this share of its size a side, plus 3 px
BOX_MARGIN = 0.05
#: the simulated brush's edge wanders by this share of sqrt(object area) (in and out; see rough_brush)
BRUSH_WANDER = 0.06


def loose_box(truth: np.ndarray, margin: float = BOX_MARGIN) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(truth)
    h, w = truth.shape
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    my, mx = int(margin * (y1 - y0)) + 3, int(margin * (x1 - x0)) + 3
    X0, Y0, X1, Y1 = max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)
    return int(X0), int(Y0), int(X1 - X0), int(Y1 - Y0)


def rough_brush(truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A rough brush: the object's edge pushed out by 0.5 A and wandering by +-A (A = BRUSH_WANDER *
    sqrt(area)) along a smooth random field, so it overshoots by up to 1.5 A and undershoots by up to 0.5 A."""
    amp = BRUSH_WANDER * np.sqrt(truth.sum())
    t = truth.astype(np.uint8)
    signed = cv2.distanceTransform(t, cv2.DIST_L2, 3) - cv2.distanceTransform(1 - t, cv2.DIST_L2, 3)
    noise = cv2.GaussianBlur(rng.standard_normal(truth.shape).astype(np.float32), (0, 0), max(2.0, amp))
    noise /= np.abs(noise).max() + 1e-6
    return signed + amp * (noise + 0.5) > 0


def photo_scene(bg_name: str, obj_name: str, seed: int, folder: Path = PHOTOS) -> PhotoScene:
    rng = np.random.default_rng(seed)
    bg, src = read_rgb(folder / bg_name), read_rgb(folder / obj_name)
    h, w = bg.shape[:2]
    shape = object_silhouette((h, w), rng, ratio=float(rng.uniform(0.04, 0.15)))
    ys, xs = np.nonzero(shape)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    obj = np.zeros_like(bg)
    obj[y0:y1, x0:x1] = texture_window(src, (y1 - y0, x1 - x0), rng)
    alpha = cv2.GaussianBlur(shape.astype(np.float32), (0, 0), EDGE_SIGMA)
    truth = alpha >= 0.5
    rgb = jpeg(composite(bg, obj, alpha))
    return PhotoScene(f"{Path(bg_name).stem}+{Path(obj_name).stem}", rgb, truth, loose_box(truth), rough_brush(truth, rng))


def photo_scenes(names: list[str], folder: Path = PHOTOS) -> list[PhotoScene]:
    """One scene per background photo; its object comes from the photo 5 places further in the list."""
    return [photo_scene(n, names[(i + 5) % len(names)], seed=i, folder=folder) for i, n in enumerate(names)]


@dataclass
class ClipScene:
    name: str
    frames: list[np.ndarray]   # (360, 640, 3) uint8 RGB, as given to the encoder
    truths: list[np.ndarray]   # (360, 640) bool, True = object


#: clip frame size (H, W): the speed target's 640x360
CLIP_SIZE = (360, 640)
#: the moving object's sprite: a square canvas of this many px, the silhouette covering SPRITE_RATIO of it
SPRITE = 200
SPRITE_RATIO = 0.3
#: sensor noise (grey levels, std) of the still-camera clip
STILL_NOISE = 4.0

#: per clip: the camera (pan / zoom / still), the object's path as (time 0..1, centre x, centre y in shares of
#: the frame, scale, turn in degrees); between the points it moves linearly
CLIPS = {
    "pan": ("pan", [(0.0, 0.15, 0.55, 0.8, -5), (1.0, 0.97, 0.45, 1.3, 10)]),          # grows, partly leaves right
    "zoom": ("zoom", [(0.0, 0.5, 0.3, 1.0, 0), (1.0, 0.35, 0.95, 1.6, -12)]),          # grows, partly leaves below
    "still": ("still", [(0.0, 0.25, 0.5, 1.0, 0), (0.45, 0.7, 0.5, 1.1, 5),            # leaves right, comes back
                        (0.62, 1.35, 0.5, 1.1, 5), (0.8, 1.35, 0.5, 1.1, 5), (1.0, 0.75, 0.55, 0.9, 0)]),
}


def _path(points, t: float) -> tuple[float, ...]:
    for (ta, *a), (tb, *b) in zip(points, points[1:]):
        if ta <= t <= tb:
            u = (t - ta) / (tb - ta) if tb > ta else 0.0
            return tuple(x + u * (y - x) for x, y in zip(a, b))
    return tuple(points[-1][1:])


def _camera(photo: np.ndarray, kind: str, n: int, rng: np.random.Generator):
    """Yields n background frames (H, W, 3) uint8 from a real photo: a pan, a zoom or a still camera."""
    h, w = CLIP_SIZE
    if kind == "pan":  # the photo scaled to 1.3x the frame's height, the window slides across its width
        s = 1.3 * h / photo.shape[0]
        big = cv2.resize(photo, None, fx=max(s, 1.6 * w / photo.shape[1]), fy=max(s, 1.6 * w / photo.shape[1]), interpolation=cv2.INTER_AREA)
        for i in range(n):
            u = i / max(1, n - 1)
            x0, y0 = int(u * (big.shape[1] - w)), int((0.5 - 0.3 * u) * (big.shape[0] - h))
            yield big[y0 : y0 + h, x0 : x0 + w]
    elif kind == "zoom":  # a window from the whole photo (cropped to 16:9) down to 0.6 of it, around a point
        ph, pw = photo.shape[:2]
        full_w = min(pw, ph * w / h)
        for i in range(n):
            u = i / max(1, n - 1)
            ww = full_w * (1 - 0.4 * u)
            wh = ww * h / w
            cx, cy = pw * (0.5 + 0.1 * u), ph * 0.5
            m = np.array([[ww / w, 0, cx - ww / 2], [0, wh / h, cy - wh / 2]], np.float64)
            yield cv2.warpAffine(photo, m, (w, h), flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)
    else:  # a fixed 640x360 window with sensor noise
        s = max(h / photo.shape[0], w / photo.shape[1])
        big = cv2.resize(photo, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        base = big[:h, :w].astype(np.float32)
        for _ in range(n):
            yield np.clip(base + rng.normal(0, STILL_NOISE, base.shape), 0, 255).astype(np.uint8)


def clip_scene(name: str, bg_name: str, obj_name: str, n: int, seed: int, folder: Path = PHOTOS) -> ClipScene:
    kind, points = CLIPS[name]
    rng = np.random.default_rng(seed)
    photo, src = read_rgb(folder / bg_name), read_rgb(folder / obj_name)
    shape = object_silhouette((SPRITE, SPRITE), rng, ratio=SPRITE_RATIO)
    sprite = texture_window(src, (SPRITE, SPRITE), rng).astype(np.float32)
    alpha = cv2.GaussianBlur(shape.astype(np.float32), (0, 0), EDGE_SIGMA)
    h, w = CLIP_SIZE
    frames, truths = [], []
    for i, bg in enumerate(_camera(photo, kind, n, rng)):
        cx, cy, scale, turn = _path(points, i / max(1, n - 1))
        m = cv2.getRotationMatrix2D((SPRITE / 2, SPRITE / 2), turn, scale)
        m[:, 2] += (cx * w - SPRITE / 2, cy * h - SPRITE / 2)
        a = cv2.warpAffine(alpha, m, (w, h), flags=cv2.INTER_LINEAR)
        obj = cv2.warpAffine(sprite, m, (w, h), flags=cv2.INTER_LINEAR)
        frames.append(composite(np.ascontiguousarray(bg), obj, a))
        truths.append(a >= 0.5)
    return ClipScene(f"{name}: {Path(bg_name).stem}+{Path(obj_name).stem}", frames, truths)


def write_clip(path: Path, frames: list[np.ndarray], rate: int = 25) -> None:
    """frames (H, W, 3) uint8 RGB -> H.264 crf 18 (the project's default output quality)."""
    import av

    out = av.open(str(path), "w")
    s = out.add_stream("libx264", rate=rate, options={"crf": "18", "preset": "veryfast"})
    s.height, s.width = frames[0].shape[:2]
    s.pix_fmt = "yuv420p"
    s.codec_context.time_base = Fraction(1, rate)
    for i, rgb in enumerate(frames):
        f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        f.pts = i
        for p in s.encode(f):
            out.mux(p)
    for p in s.encode():
        out.mux(p)
    out.close()
