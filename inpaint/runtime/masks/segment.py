"""One object's mask in one picture, from a box or a rough brush: GrabCut (OpenCV's colour GMMs + graph cut).

    hole = from_box(rgb, (x, y, w, h))          # (H, W) bool, True = the object (= remove)
    hole = from_scribble(rgb, rough)            # rough: (H, W) bool, True = brushed over the object

rgb: (H, W, 3) uint8 RGB in the displayed orientation. GrabCut runs on a crop around the box or brush (the
box plus :data:`CROP_PAD` of its size a side), so its cost follows the object's size, not the photo's.

What is added to plain GrabCut (figures in docs/masks.md):

- **Centre-first colour model** (box): the box's outer :data:`BOX_BAND` (a share of its width / height a side)
  starts as probable background, the middle as probable object, so the first object colour model is not
  learnt from the background that a box always holds near its sides; the graph cut may still give those
  pixels to the object.
- **Clean-up**: the object is the connected part GrabCut found (pieces under :data:`MIN_PIECE` of the largest
  are dropped: background specks) with its enclosed holes filled (for removal a hole inside an object is
  better removed than left as a ring of the object behind).
"""

from __future__ import annotations

import cv2
import numpy as np

from inpaint.errors import UserError

__all__ = ["from_box", "from_scribble", "check_box", "clean", "grabcut", "CROP_PAD", "BOX_BAND"]

#: crop around the box / brush that GrabCut sees, as a share of the box's size on each side (the
#: background model's samples); 0.5 gave the same IoU as the whole photo on the tuning scenes at a third
#: of the time (benchmarks/masks.py)
CROP_PAD = 0.5
#: share of the box's width / height, on each side, that starts as probable background (benchmarks/masks.py:
#: 0.1 raised the mean IoU on pasted objects from 0.85 to 0.87 at equal recall; 0.2 lost recall)
BOX_BAND = 0.1
#: a piece of the mask smaller than this share of the largest piece is dropped as a speck
MIN_PIECE = 0.05
#: GrabCut iterations for a photo (OpenCV's sample uses 5 and more rarely helps)
ITERATIONS = 5


def check_box(box: tuple[int, int, int, int], size: tuple[int, int], what: str = "--box") -> tuple[int, int, int, int]:
    """(x, y, w, h) in pixels, clipped to a picture of (H, W) ``size``; UserError when it lies outside the
    picture, is under 2 px a side, or covers the whole picture (nothing would be background)."""
    x, y, w, h = (int(v) for v in box)
    height, width = size
    if w < 2 or h < 2:
        raise UserError(f"{what} {x},{y},{w},{h}: width and height must be 2 pixels or more")
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise UserError(f"{what} {x},{y},{w},{h}: lies outside the {width}x{height} picture; give X,Y,W,H inside it "
                        "(x from the left, y from the top, in the displayed orientation)")
    if x0 == 0 and y0 == 0 and x1 == width and y1 == height:
        raise UserError(f"{what} {x},{y},{w},{h}: covers the whole {width}x{height} picture; draw it around the object "
                        "only, with some background inside the picture around it")
    return x0, y0, x1 - x0, y1 - y0


def parse_box(text: str) -> tuple[int, int, int, int]:
    """"X,Y,W,H" -> ints (UserError otherwise)."""
    try:
        values = tuple(int(round(float(v))) for v in text.replace(" ", "").split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise UserError(f"--box {text!r}: give X,Y,W,H in pixels (e.g. --box 120,40,200,180)")
    return values  # type: ignore[return-value]


def grabcut(rgb: np.ndarray, trimap: np.ndarray, iterations: int = ITERATIONS) -> np.ndarray:
    """GrabCut from a trimap (cv2.GC_BGD / GC_FGD / GC_PR_BGD / GC_PR_FGD, uint8 (H, W)); returns (H, W) bool.

    Seeded (cv2.setRNGSeed) so the k-means that starts the colour models, and so the result, is repeatable.
    A trimap with no background or no object pixel at all returns the trimap's object labels unchanged.
    """
    fg = (trimap == cv2.GC_FGD) | (trimap == cv2.GC_PR_FGD)
    if fg.all() or not fg.any():
        return fg
    cv2.setRNGSeed(0)
    mask = np.ascontiguousarray(trimap, np.uint8).copy()
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(np.ascontiguousarray(rgb), mask, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # too few distinct colours on one side for k-means: keep the trimap's guess
        return fg
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool with every background region that does not reach the border (4-connected) set True."""
    h, w = mask.shape
    padded = np.ones((h + 2, w + 2), np.uint8)
    padded[1:-1, 1:-1] = ~mask
    _, labels = cv2.connectedComponents(padded, connectivity=4)
    return labels[1:-1, 1:-1] != labels[0, 0]


def clean(mask: np.ndarray, min_piece: float = MIN_PIECE) -> np.ndarray:
    """Drop pieces (8-connected) under ``min_piece`` of the largest one, fill enclosed holes. (H, W) bool."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8) if mask.dtype == bool else mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return np.zeros(mask.shape, bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(n, bool)
    keep[1:] = areas >= max(1.0, min_piece * areas.max())
    return fill_holes(keep[labels])


def _crop(size: tuple[int, int], x0: int, y0: int, x1: int, y1: int, pad: float) -> tuple[int, int, int, int]:
    h, w = size
    px, py = int(np.ceil((x1 - x0) * pad)), int(np.ceil((y1 - y0) * pad))
    return max(0, x0 - px), max(0, y0 - py), min(w, x1 + px), min(h, y1 + py)


def from_box(rgb: np.ndarray, box: tuple[int, int, int, int], iterations: int = ITERATIONS) -> np.ndarray:
    """The object inside ``box`` = (x, y, w, h) (checked with :func:`check_box`). Returns (H, W) bool, True = object.

    Pixels outside the box are background by definition; the mask never leaves the box.
    """
    x, y, w, h = check_box(box, rgb.shape[:2])
    cx0, cy0, cx1, cy1 = _crop(rgb.shape[:2], x, y, x + w, y + h, CROP_PAD)
    trimap = np.full((cy1 - cy0, cx1 - cx0), cv2.GC_BGD, np.uint8)
    bx, by = x - cx0, y - cy0
    trimap[by : by + h, bx : bx + w] = cv2.GC_PR_BGD
    mx, my = int(BOX_BAND * w), int(BOX_BAND * h)
    trimap[by + my : by + h - my, bx + mx : bx + w - mx] = cv2.GC_PR_FGD
    out = np.zeros(rgb.shape[:2], bool)
    out[cy0:cy1, cx0:cx1] = clean(grabcut(rgb[cy0:cy1, cx0:cx1], trimap, iterations))
    return out


def scribble_trimap(rough: np.ndarray, reach: int) -> np.ndarray:
    """The trimap GrabCut starts from for a rough brush: (H, W) uint8.

    Brushed pixels deeper than ``reach`` px inside the brush are object (GC_FGD), the rest of the brush probable
    object, unbrushed pixels within ``reach`` px of it probable background, farther ones background.
    """
    brush = rough.astype(np.uint8)
    inside = cv2.distanceTransform(brush, cv2.DIST_L2, 3)
    outside = cv2.distanceTransform(1 - brush, cv2.DIST_L2, 3)
    trimap = np.full(rough.shape, cv2.GC_BGD, np.uint8)
    trimap[outside <= reach] = cv2.GC_PR_BGD
    trimap[rough] = cv2.GC_PR_FGD
    trimap[inside > reach] = cv2.GC_FGD
    return trimap


#: how far (px) the object may reach past the brush, and how deep inside it the brush is trusted, as a share
#: of sqrt(brushed area), at least SCRIBBLE_MIN_REACH px. A rough brush misses or overshoots edges by about a tenth
#: of the object's size; trusting only what lies twice that deep measured best on the exact scenes of
#: tests/runtime/masks/scenes.py (brushes 3-9 px over the edge: IoU 1.00 against 0.67-0.88 with a tenth;
#: 6 px short of it: 0.92 against 0.31)
SCRIBBLE_REACH = 0.2
SCRIBBLE_MIN_REACH = 8


def from_scribble(rgb: np.ndarray, rough: np.ndarray, iterations: int = ITERATIONS, what: str = "--scribble") -> np.ndarray:
    """Refine a rough brush (``rough``: (H, W) bool, True = over the object) to the object's edges.

    Returns (H, W) bool, True = object. UserError when the brush is empty or covers the whole picture.
    """
    rough = np.asarray(rough, bool)
    if not rough.any():
        raise UserError(f"{what}: the brush mask is empty (all black); paint the object white")
    if rough.all():
        raise UserError(f"{what}: the brush mask covers the whole picture; paint only the object white")
    reach = max(SCRIBBLE_MIN_REACH, int(round(SCRIBBLE_REACH * np.sqrt(rough.sum()))))
    ys, xs = np.nonzero(rough)
    cx0, cy0, cx1, cy1 = _crop(rgb.shape[:2], xs.min() - reach, ys.min() - reach, xs.max() + 1 + reach,
                               ys.max() + 1 + reach, CROP_PAD / 2)
    cx0, cy0 = max(cx0, 0), max(cy0, 0)
    trimap = scribble_trimap(rough[cy0:cy1, cx0:cx1], reach)
    out = np.zeros(rgb.shape[:2], bool)
    out[cy0:cy1, cx0:cx1] = clean(grabcut(rgb[cy0:cy1, cx0:cx1], trimap, iterations))
    return out
