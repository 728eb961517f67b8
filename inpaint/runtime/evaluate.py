"""``inpaint eval``: PSNR and SSIM of a model beside classical inpainting (OpenCV's Telea and Navier-Stokes,
push-pull; :mod:`inpaint.runtime.baselines`).

Cases are (photo, mask) pairs. Metrics are over the whole composited image in [0, 1] (known pixels equal
the photo's for every method), plus PSNR over the hole pixels alone (``hole_psnr``: what differs between
methods and between ``--strategy`` choices on large photos), averaged over cases, overall and per hole-ratio bin as the papers' tables
(0.01-0.1, 0.1-0.2, ..., 0.5-0.6; the partial-convolution paper's irregular-mask bins). No torch needed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from inpaint.errors import UserError
from inpaint.metrics import detail_ratio, psnr, ssim
from inpaint.runtime.baselines import BASELINES, baseline
from inpaint.runtime.io import read_image, read_mask, write_image
from inpaint.runtime.jobs import list_images

#: hole-ratio bins (lower bound exclusive, upper inclusive), as the papers report them
BINS: tuple[tuple[float, float], ...] = ((0.01, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6))


def bin_of(ratio: float) -> str | None:
    for lo, hi in BINS:
        if lo < ratio <= hi:
            return f"({lo:g},{hi:g}]"
    return None


@dataclass
class Case:
    """One evaluation case: photo (H, W, 3) uint8 RGB and hole (H, W) bool, True = hole."""

    name: str
    rgb: np.ndarray
    hole: np.ndarray

    @property
    def ratio(self) -> float:
        return float(self.hole.mean())


def find_cases(images: Path, masks: Path) -> list[tuple[Path, Path]]:
    """Pair photos with masks: mask ``<stem>.*`` or ``<stem>__<anything>.*`` belongs to photo ``<stem>.*``
    (several masks per photo are allowed). Photos without masks are skipped; no pair at all is a UserError."""
    if not images.is_dir() or not masks.is_dir():
        raise UserError(f"--images {images} and --masks {masks} must both be folders")
    photos = {p.stem: p for p in list_images(images)}
    pairs = []
    for m in list_images(masks):
        stem = m.stem.split("__")[0]
        if stem in photos:
            pairs.append((photos[stem], m))
    if not pairs:
        raise UserError(f"{masks}: no mask named after a photo of {images} (<stem>.png or <stem>__<k>.png)")
    return pairs


def load_cases(pairs: Iterable[tuple[Path, Path]]) -> list[Case]:
    cases = []
    for photo, mask in pairs:
        pic = read_image(photo)
        rgb = pic.rgb if pic.rgb.dtype == np.uint8 else np.round(pic.rgb / 257.0).astype(np.uint8)
        cases.append(Case(f"{photo.stem}/{mask.stem}", rgb, read_mask(mask, rgb.shape[:2])))
    return cases


@dataclass
class Report:
    methods: list[str]
    #: per case: name, ratio, bin, scores {method: (psnr, ssim)}, hole_psnr {method: PSNR over the hole pixels},
    #: detail {method: :func:`inpaint.metrics.detail_ratio`}
    rows: list[dict] = field(default_factory=list)

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        """{group: {method: {"psnr", "ssim", "hole_psnr", "detail", "n"}}} for "overall" and every non-empty bin:
        means over cases, but ``detail`` is the median (TEXTURE.md; cases where the truth is flat are left out)."""
        groups: dict[str, list[dict]] = {"overall": self.rows}
        for lo, hi in BINS:
            key = f"({lo:g},{hi:g}]"
            groups[key] = [r for r in self.rows if r["bin"] == key]
        out = {}
        for key, rows in groups.items():
            if rows:
                out[key] = {m: {"psnr": float(np.mean([r["scores"][m][0] for r in rows])), "ssim": float(np.mean([r["scores"][m][1] for r in rows])),
                                "hole_psnr": float(np.mean([r["hole_psnr"][m] for r in rows])),
                                "detail": _median([r.get("detail", {}).get(m, float("nan")) for r in rows]), "n": len(rows)}
                            for m in self.methods}
        return out

    def to_json(self) -> str:
        return json.dumps({"methods": self.methods, "summary": self.summary(), "cases": self.rows}, indent=2)


def _median(values: Sequence[float]) -> float:
    kept = [v for v in values if np.isfinite(v)]
    return float(np.median(kept)) if kept else float("nan")


def evaluate(
    cases: Sequence[Case],
    model: Callable[[np.ndarray, np.ndarray], np.ndarray] | None,
    baselines: Sequence[str] = ("telea", "ns"),
    model_name: str = "model",
    sheet: Path | None = None,
    sheet_rows: int = 6,
    on_case: Callable[[], None] | None = None,
    extra_methods: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] | None = None,
) -> Report:
    """Score ``model`` (rgb uint8, hole bool -> rgb uint8), the baselines and ``extra_methods`` (more such
    functions by name, e.g. ``{"texture off": f, "texture on": g}``, columns after the model's) on every case."""
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise UserError(f"--baselines {','.join(unknown)}: known baselines are {', '.join(BASELINES)}")
    extra_methods = dict(extra_methods or {})
    methods = list(baselines) + ([model_name] if model is not None else []) + list(extra_methods)
    report = Report(methods)
    tiles = []
    for case in cases:
        outputs = {b: baseline(b, case.rgb, case.hole) for b in baselines}
        if model is not None:
            outputs[model_name] = model(case.rgb, case.hole)
        for name, method in extra_methods.items():
            outputs[name] = method(case.rgb, case.hole)
        truth = case.rgb / 255.0
        scores = {m: (psnr(o / 255.0, truth), ssim(o / 255.0, truth)) for m, o in outputs.items()}
        in_hole = {m: psnr(o[case.hole] / 255.0, truth[case.hole]) if case.hole.any() else 100.0 for m, o in outputs.items()}
        detail = {m: detail_ratio(o / 255.0, truth, case.hole) for m, o in outputs.items()}
        report.rows.append({"case": case.name, "ratio": case.ratio, "bin": bin_of(case.ratio), "scores": scores,
                            "hole_psnr": in_hole, "detail": detail})
        if sheet is not None and len(tiles) < sheet_rows:
            tiles.append(_sheet_row(case, outputs, in_hole, detail))
        if on_case:
            on_case()
    if sheet is not None and tiles:
        write_image(sheet, np.concatenate(tiles, 0))
    return report


def _sheet_row(case: Case, outputs: dict[str, np.ndarray], hole_psnr: dict[str, float] | None = None,
               detail: dict[str, float] | None = None, height: int = 192) -> np.ndarray:
    """input with the hole greyed | mask | each method | photo, scaled to ``height``, labelled (each method
    with its hole PSNR and detail)."""
    masked = case.rgb.copy()
    masked[case.hole] = 128
    mask = np.repeat((case.hole * 255).astype(np.uint8)[..., None], 3, 2)
    panels = [("input", masked), ("mask", mask), *outputs.items(), ("photo", case.rgb)]
    w = max(1, round(case.rgb.shape[1] * height / case.rgb.shape[0]))
    row = []
    for label, img in panels:
        tile = cv2.resize(np.ascontiguousarray(img), (w, height), interpolation=cv2.INTER_AREA)
        cv2.putText(tile, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 0), 1, cv2.LINE_AA)
        if hole_psnr is not None and label in hole_psnr:
            figures = f"{hole_psnr[label]:.1f} dB  d {detail[label]:.2f}" if detail else f"{hole_psnr[label]:.1f} dB"
            cv2.putText(tile, figures, (6, height - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1, cv2.LINE_AA)
        row.append(tile)
    return np.concatenate(row, 1)


def make_masks(images: Path, out: Path, per_bin: int = 1, seed: int = 0) -> list[Path]:
    """Write free-form masks (strokes and boxes, as the training masks) for every photo of ``images`` into
    ``out``, ``per_bin`` in each of the six bins, named ``<stem>__b<k>_<j>.png``; deterministic for ``seed``."""
    from inpaint.trainer.data.masks import FreeFormMasks

    written = []
    out.mkdir(parents=True, exist_ok=True)
    for i, photo in enumerate(list_images(images)):
        h, w = read_image(photo).rgb.shape[:2]
        side = min(h, w)
        for k, (lo, hi) in enumerate(BINS):
            gen = FreeFormMasks(side, hole_range=(lo + 0.005, hi - 0.005))
            for j in range(per_bin):
                rng = np.random.default_rng([seed, i, k, j])
                for _ in range(20):  # resizing the square mask to the photo can move the ratio out of its bin
                    hole = cv2.resize(gen(rng), (w, h), interpolation=cv2.INTER_NEAREST) > 0
                    if lo < hole.mean() <= hi:
                        break
                path = out / f"{photo.stem}__b{k + 1}_{j}.png"
                write_image(path, (hole * 255).astype(np.uint8)[..., None].repeat(3, 2))
                written.append(path)
    return written


#: hole ratio range of the object masks: one object of 8-25 % of the photo (../shared/TEXTURE.md's ~512 px cases)
OBJECT_RATIO = (0.08, 0.25)
#: draws per mask before the closest one is kept: rounding the shape to pixels moves the ratio ~1-2 % (a target
#: at a bound can land just outside), and a shape that cannot fit a narrow photo is scaled down (a new shape fits)
OBJECT_TRIES = 50


def make_object_masks(images: Path, out: Path, per_photo: int = 2, seed: int = 0,
                      ratio: tuple[float, float] = OBJECT_RATIO) -> list[Path]:
    """Write ``per_photo`` object-shaped masks for every photo of ``images`` into ``out`` as ``<stem>__o<j>.png``
    ((H, W, 3) uint8, white 255 = hole, 0 = known; :func:`find_cases` pairs them with ``<stem>.*``).

    The generator (cite it as "object-shaped holes: the project's own silhouette generator",
    :func:`inpaint.runtime.silhouettes.object_silhouette`): one solid silhouette a mask, a body whose closed
    contour has radius ``r(t) = base * (1 + sum_k a_k cos(k t + phi_k))``, k = 1..5, ``a_k`` uniform in
    [0, 0.25 / k] and phases uniform (smooth, never self-crossing), a random aspect ratio (0.55-1.8) and rotation,
    plus 1-3 elliptic limbs from the body's centre past its edge; scaled to a hole ratio drawn uniformly in
    ``ratio`` and placed uniformly, fully inside the photo and ``silhouettes.MARGIN`` px from its border.
    A draw is kept only when its ratio lies in ``ratio`` and it is one 8-connected component; else the next
    draw of the same generator is tried (at most :data:`OBJECT_TRIES`, then the closest in ratio is kept).
    Deterministic: photo ``i`` (in :func:`list_images` order), mask ``j`` use ``np.random.default_rng([seed, i, j])``.
    Returns the written paths, photo by photo.
    """
    from inpaint.runtime.silhouettes import object_silhouette

    lo, hi = ratio
    written = []
    out.mkdir(parents=True, exist_ok=True)
    for i, photo in enumerate(list_images(images)):
        h, w = read_image(photo).rgb.shape[:2]
        for j in range(per_photo):
            rng = np.random.default_rng([seed, i, j])
            best, miss = None, np.inf
            for _ in range(OBJECT_TRIES):
                hole = object_silhouette((h, w), rng, float(rng.uniform(lo, hi)))
                if cv2.connectedComponents(hole.astype(np.uint8), connectivity=8)[0] != 2:  # background + one
                    continue
                off = max(lo - hole.mean(), hole.mean() - hi, 0.0)
                if off < miss:
                    best, miss = hole, off
                if off == 0.0:
                    break
            if best is None:
                raise UserError(f"{photo}: no object-shaped hole fits a {w}x{h} photo")
            path = out / f"{photo.stem}__o{j}.png"
            write_image(path, (best * 255).astype(np.uint8)[..., None].repeat(3, 2))
            written.append(path)
    return written
