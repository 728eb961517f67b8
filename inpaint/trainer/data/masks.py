"""Training hole masks: generated free-form masks, a folder of mask files, and a mix of both.

Every mask source is a callable ``rng -> (size, size) float32 in {0, 1}, 1 = hole`` whose only
randomness is the ``numpy.random.Generator`` it is given (see :class:`MaskSource`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from inpaint.errors import UserError
from inpaint.trainer.data.images import SCAN_THREADS, decode_file, scan_files

log = logging.getLogger("inpaint.trainer.data")

#: crop side at which the published mask parameters below are given; they scale with ``size``
REFERENCE_SIZE = 256

# Brush strokes: DeepFill v2 (Yu et al., ICCV 2019), ``brush_stroke_mask`` in the authors'
# JiahuiYu/generative_inpainting inpaint_ops.py, for 256 x 256 images.
STROKE_VERTICES = (4, 12)  # vertices per stroke, drawn from [4, 12)
STROKE_MEAN_ANGLE = 2 * math.pi / 5  # turning angle between segments, radians
STROKE_ANGLE_RANGE = 2 * math.pi / 15  # spread of the turning angle, radians
STROKE_WIDTH = (12, 40)  # brush width in pixels at 256
STROKE_LENGTH_DIAGONAL_FRACTION = 1 / 8  # mean segment length = image diagonal / 8 (std: half)

# Boxes: LaMa (Suvorov et al., WACV 2022), big-lama training config ``box_kwargs``, at 256.
BOX_MARGIN = 10  # pixels kept free along the border
BOX_SIDE = (30, 150)  # box height and width in pixels

#: shapes drawn (accepted or rejected) before a free-form mask falls back to a single box
MAX_SHAPES = 100


class MaskSource(Protocol):
    """Anything that makes training masks: ``source(rng) -> (size, size) float32 in {0, 1}``,
    1 = hole, using no randomness but ``rng``."""

    size: int

    def __call__(self, rng: np.random.Generator) -> np.ndarray: ...


def draw_stroke(canvas: np.ndarray, rng: np.random.Generator) -> None:
    """Paint one DeepFill-v2 brush stroke (a random-walk polyline with a thick round brush)
    into ``canvas``: ``(S, S) uint8``, painted pixels set to 1."""
    size = canvas.shape[0]
    scale = size / REFERENCE_SIZE
    n = int(rng.integers(*STROKE_VERTICES))
    spread = rng.uniform(0.0, STROKE_ANGLE_RANGE, size=2)
    angles = rng.uniform(STROKE_MEAN_ANGLE - spread[0], STROKE_MEAN_ANGLE + spread[1], size=n)
    angles[::2] = 2 * math.pi - angles[::2]  # alternate turning left and right
    mean_length = math.hypot(size, size) * STROKE_LENGTH_DIAGONAL_FRACTION
    lengths = np.clip(rng.normal(mean_length, mean_length / 2, size=n), 0.0, 2 * mean_length)
    width = max(1, round(rng.uniform(*STROKE_WIDTH) * scale))
    points = [rng.uniform(0, size - 1, size=2)]
    for angle, length in zip(angles, lengths):
        step = length * np.array([math.cos(angle), math.sin(angle)])
        points.append(np.clip(points[-1] + step, 0, size - 1))
    xy = np.round(np.stack(points)).astype(np.int32)  # (n + 1, 2) as (x, y)
    cv2.polylines(canvas, [xy], isClosed=False, color=1, thickness=width)
    for x, y in xy:  # round joints and caps
        cv2.circle(canvas, (int(x), int(y)), width // 2, color=1, thickness=-1)


def draw_box(canvas: np.ndarray, rng: np.random.Generator) -> None:
    """Paint one LaMa-style axis-aligned box into ``canvas``: ``(S, S) uint8``, set to 1."""
    size = canvas.shape[0]
    scale = size / REFERENCE_SIZE
    margin = round(BOX_MARGIN * scale)
    lo = max(1, round(BOX_SIDE[0] * scale))
    hi = max(lo, min(round(BOX_SIDE[1] * scale), size - 2 * margin))
    h, w = (int(v) for v in rng.integers(lo, hi, size=2, endpoint=True))
    top = int(rng.integers(margin, max(margin, size - margin - h) + 1))
    left = int(rng.integers(margin, max(margin, size - margin - w) + 1))
    canvas[top:top + h, left:left + w] = 1


_MASK_HINT = "give a folder of mask images (jpg/png/webp/bmp, non-zero / white = hole)"

_DRAW = {"stroke": draw_stroke, "box": draw_box}


class FreeFormMasks:
    """Irregular training masks as in the papers: brush strokes plus boxes.

    A target hole ratio ``r ~ U(lo, hi)`` is drawn, then shapes are added one at a time (each a
    stroke, or a box with probability ``box_prob``) until the hole ratio reaches ``r``. A shape
    that would push the ratio above ``hi`` is left out and another one is drawn. After
    :data:`MAX_SHAPES` draws (only reached when ``hi`` is small next to the shapes), a mask
    already within ``[lo, hi]`` is returned as it is, otherwise it is replaced by one random box
    of area ``(lo + hi) / 2`` (exact up to one pixel row, i.e. ``1 / size`` of hole ratio).

    Args:
        size: side of the masks in pixels; the shape parameters scale with ``size / 256``.
        hole_range: ``(lo, hi)``, ``0 <= lo < hi <= 1``: allowed fraction of hole pixels.
        box_prob: probability that a shape is a box rather than a stroke (project choice).

    Call with a generator: ``masks(rng) -> (size, size) float32 in {0, 1}, 1 = hole``.
    """

    def __init__(self, size: int, hole_range: tuple[float, float] = (0.05, 0.6), *,
                 box_prob: float = 0.3) -> None:
        lo, hi = hole_range
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"hole_range must satisfy 0 <= lo < hi <= 1, got {hole_range}")
        if not 0.0 <= box_prob <= 1.0:
            raise ValueError(f"box_prob must be in [0, 1], got {box_prob}")
        self.size = int(size)
        self.hole_range = (float(lo), float(hi))
        self.box_prob = float(box_prob)

    def __call__(self, rng: np.random.Generator) -> np.ndarray:
        return self.generate(rng)[0]

    def generate(self, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
        """The mask ``(size, size) float32 in {0, 1}, 1 = hole`` and the kinds of the shapes
        it is made of, in drawing order (``"stroke"`` / ``"box"``), for tests and statistics."""
        lo, hi = self.hole_range
        area = self.size * self.size
        target = rng.uniform(lo, hi)
        mask = np.zeros((self.size, self.size), np.uint8)
        kinds: list[str] = []
        for _ in range(MAX_SHAPES):
            kind = "box" if rng.random() < self.box_prob else "stroke"
            candidate = mask.copy()
            _DRAW[kind](candidate, rng)
            ratio = np.count_nonzero(candidate) / area
            if ratio > hi:
                continue
            mask = candidate
            kinds.append(kind)
            if ratio >= target:
                return mask.astype(np.float32), kinds
        if np.count_nonzero(mask) / area >= lo:
            return mask.astype(np.float32), kinds
        return self._fallback_box(rng), ["box"]

    def _fallback_box(self, rng: np.random.Generator) -> np.ndarray:
        lo, hi = self.hole_range
        pixels = (lo + hi) / 2 * self.size * self.size
        h = min(self.size, max(1, round(math.sqrt(pixels))))
        w = min(self.size, max(1, math.ceil(pixels / h)))
        top = int(rng.integers(0, self.size - h + 1))
        left = int(rng.integers(0, self.size - w + 1))
        mask = np.zeros((self.size, self.size), np.float32)
        mask[top:top + h, left:left + w] = 1.0
        return mask


def read_mask(path: Path, invert: bool = False) -> np.ndarray | None:
    """Decode a mask file as ``(H, W) bool``, True = hole (any non-zero colour channel; an
    alpha channel is ignored), or None when it cannot be decoded. ``invert`` flips it for
    mask sets stored as white = known."""
    m = decode_file(path, cv2.IMREAD_UNCHANGED)
    if m is None:
        return None
    hole = (m[..., :3] != 0).any(axis=2) if m.ndim == 3 else m != 0
    return ~hole if invert else hole


class MaskFolder:
    """Masks from a folder of mask images (recursive; jpg/jpeg/png/webp/bmp), augmented.

    Files are checked at construction; ones that cannot be decoded or hold no hole pixel are
    skipped with one logging warning each. A call picks a file at random and returns it resized
    to ``size x size`` (nearest neighbour, aspect ratio not kept), flipped left-right and
    top-bottom with probability 1/2 each, rotated by an angle ``~ U(0, 360)`` degrees about the
    centre (nearest; corners that rotate out are lost, uncovered corners are known), and dilated
    by a disc of radius ``~ U{0, ..., max_dilation}`` pixels.

    Args:
        root: the folder; non-zero pixels are holes (white = hole), unless ``invert``.
        size: side of the returned masks in pixels.
        rotate: rotate by a random angle (True by default).
        max_dilation: largest dilation radius in pixels at ``size``; default ``size // 64``
            (4 px at 256; a project choice: thickens strokes a little without changing shapes).
        invert: the files use white = known.

    Call with a generator: ``masks(rng) -> (size, size) float32 in {0, 1}, 1 = hole``.
    """

    def __init__(self, root: str | Path, size: int, *, rotate: bool = True,
                 max_dilation: int | None = None, invert: bool = False) -> None:
        self.root = Path(root)
        self.size = int(size)
        self.rotate = rotate
        self.max_dilation = self.size // 64 if max_dilation is None else int(max_dilation)
        self.invert = invert
        candidates = scan_files(self.root, hint=_MASK_HINT)
        with ThreadPoolExecutor(SCAN_THREADS) as pool:
            holes = list(pool.map(self._hole_pixels, candidates))
        self.paths: list[Path] = []
        for path, n in zip(candidates, holes):
            if n is None:
                log.warning("skipping mask %s: cannot be decoded as an image", path)
            elif n == 0:
                log.warning("skipping mask %s: it has no hole pixels (non-zero = hole)", path)
            else:
                self.paths.append(path)
        if not self.paths:
            raise UserError(f"{self.root}: no usable mask images; {_MASK_HINT}")

    def __len__(self) -> int:
        return len(self.paths)

    def _hole_pixels(self, path: Path) -> int | None:
        hole = read_mask(path, self.invert)
        return None if hole is None else int(np.count_nonzero(hole))

    def __call__(self, rng: np.random.Generator) -> np.ndarray:
        path = self.paths[int(rng.integers(len(self.paths)))]
        hole = read_mask(path, self.invert)
        if hole is None:
            raise UserError(f"{path}: can no longer be decoded (was it changed or deleted after "
                            "training started?); restore it or remove it from the folder")
        m = cv2.resize(hole.astype(np.uint8), (self.size, self.size), interpolation=cv2.INTER_NEAREST)
        if rng.random() < 0.5:
            m = m[:, ::-1]
        if rng.random() < 0.5:
            m = m[::-1, :]
        m = np.ascontiguousarray(m)
        if self.rotate:
            centre = ((self.size - 1) / 2, (self.size - 1) / 2)
            rotation = cv2.getRotationMatrix2D(centre, rng.uniform(0.0, 360.0), 1.0)
            m = cv2.warpAffine(m, rotation, (self.size, self.size), flags=cv2.INTER_NEAREST,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        radius = int(rng.integers(0, self.max_dilation, endpoint=True))
        if radius:
            disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
            m = cv2.dilate(m, disc)
        return m.astype(np.float32)


class MixedMasks:
    """Picks one of several mask sources per mask, with probabilities ``probs``.

    All sources must make masks of the same ``size``. Call with a generator:
    ``masks(rng) -> (size, size) float32 in {0, 1}, 1 = hole``.
    """

    def __init__(self, sources: Sequence[MaskSource], probs: Sequence[float]) -> None:
        if not sources or len(sources) != len(probs):
            raise ValueError(f"need one probability per source, got {len(sources)} sources "
                             f"and {len(probs)} probabilities")
        p = np.asarray(probs, dtype=np.float64)
        if (p < 0).any() or p.sum() <= 0:
            raise ValueError(f"probabilities must be >= 0 with a positive sum, got {list(probs)}")
        sizes = {s.size for s in sources}
        if len(sizes) != 1:
            raise ValueError(f"all mask sources must have the same size, got {sorted(sizes)}")
        self.sources = list(sources)
        self.probs = p / p.sum()
        self.size = sizes.pop()

    def __call__(self, rng: np.random.Generator) -> np.ndarray:
        k = int(rng.choice(len(self.sources), p=self.probs))
        return self.sources[k](rng)
