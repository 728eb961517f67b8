"""Texture in the fill (issue 18): hole PSNR, SSIM and the detail figure of ``--texture off`` (the network's fill
alone) and ``--texture on`` (the default), with OpenCV's Telea beside them, in one run.

    python benchmarks/texture.py [--sets objects,strokes,objects-4x,large] [--large DIR] [--workdir DIR]
                                 [--variants 0.5,1.0] [--sheet docs/texture_sheet.jpg]

Sets (validation photos only: ``examples/val_photos.txt``, read from ``--data``, never copied into the repository):

- ``objects``: the 12 validation photos at 1x, two object-shaped holes each (the project's silhouette generator,
  :func:`inpaint.runtime.evaluate.make_object_masks`, seed 0, 8-25 % of the photo);
- ``strokes``: the same photos with free-form strokes (``inpaint eval --generate-masks``, seed 0, bins 1, 3, 5);
- ``objects-4x``: the photos enlarged 4x (bicubic), their first object mask enlarged (nearest neighbour);
- ``large``: real photos of at least 4 MP in ``--large`` (not upscaled; docs/texture.md names them), one object
  hole each of 1.5-7 % of the photo (the generator with that range);
- ``large-train``: the same for ``--large-train`` (docs/texture.md: full-size originals of *training* photos, a
  secondary set: the network saw them shrunk; the texture stage learns nothing).

Methods: ``today`` (the previous release: no texture stage, auto's former thresholds), ``texture off`` (no
texture, auto as now), ``texture on`` (the default), Telea, and ``--variants`` strengths.
Metrics: ``hole_psnr`` (mean over cases of the PSNR inside the hole), ``ssim`` (whole image, mean), ``detail``
(:func:`inpaint.metrics.detail_ratio`: mean |Laplacian| inside the hole eroded 2 px, output over truth; median
over cases). Time: seconds per photo inside ``Inpainter.inpaint`` (model loaded once), median over the cases of
each method, and the median of the per-case ratios on / off. Writes ``results.json`` into the work folder and a
contact sheet (input with the hole | texture off | texture on | truth) of six object cases and two large photos.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = next((p for p in (REPO.parent / "shared" / "data" / "photos", REPO.parent.parent / "shared" / "data" / "photos")
             if p.is_dir()), REPO.parent / "shared" / "data" / "photos")
#: the hole ratio of the large set: the real 4-15 MP photos of ../shared/TEXTURE.md had 1.5-7 % holes
LARGE_RATIO = (0.015, 0.07)


def _names() -> list[str]:
    return [line.strip() for line in (REPO / "examples" / "val_photos.txt").read_text().splitlines() if line.strip()]


def prepare(workdir: Path, data: Path, large: dict[str, Path | None], sets: list[str]) -> dict[str, Path]:
    """One folder per set with ``images/`` and ``masks/`` (``<stem>__<k>.png``), made once."""
    from inpaint.runtime.evaluate import make_masks, make_object_masks
    from inpaint.runtime.io import read_image, read_mask, write_image

    folders = {}
    base = workdir / "1x"
    if not (base / "images").is_dir():
        (base / "images").mkdir(parents=True)
        for n in _names():
            write_image(base / "images" / (Path(n).stem + ".png"), read_image(data / n).rgb)
    if "objects" in sets or "objects-4x" in sets:
        folder = workdir / "objects"
        if not (folder / "masks").is_dir():
            make_object_masks(base / "images", folder / "masks", per_photo=2, seed=0)
        folders["objects"] = folder
    if "strokes" in sets:
        folder = workdir / "strokes"
        if not (folder / "masks").is_dir():
            make_masks(base / "images", workdir / "all-strokes", seed=0)
            (folder / "masks").mkdir(parents=True)
            for m in sorted((workdir / "all-strokes").iterdir()):
                if m.stem.split("__b")[1].split("_")[0] in ("1", "3", "5"):
                    m.rename(folder / "masks" / m.name)
        folders["strokes"] = folder
    if "objects-4x" in sets:
        folder = workdir / "objects-4x"
        if not (folder / "masks").is_dir():
            (folder / "images").mkdir(parents=True)
            (folder / "masks").mkdir()
            for p in sorted((base / "images").iterdir()):
                rgb = read_image(p).rgb
                write_image(folder / "images" / p.name, cv2.resize(rgb, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC))
            for m in sorted((workdir / "objects" / "masks").glob("*__o0.png")):
                hole = read_mask(m).astype(np.uint8) * 255
                write_image(folder / "masks" / m.name, cv2.resize(hole, None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST))
        folders["objects-4x"] = folder
    for name, src in large.items():
        if name not in sets or src is None or not src.is_dir():
            continue
        folder = workdir / name
        if not (folder / "masks").is_dir():
            make_object_masks(src, folder / "masks", per_photo=1, seed=1, ratio=LARGE_RATIO)
        if not (folder / "images").exists():
            (folder / "images").symlink_to(src.resolve())
        folders[name] = folder
    for name in ("objects", "strokes"):
        if name in folders and not (folders[name] / "images").exists():
            (folders[name] / "images").symlink_to((base / "images").resolve())
    return folders


def _timed(fn):
    times: list[float] = []

    def run(rgb, hole):
        t = time.perf_counter()
        out = fn(rgb, hole)
        times.append(time.perf_counter() - t)
        return out

    return run, times


def score(folder: Path, painter, variants: list[float]) -> tuple[dict, list]:
    from inpaint.runtime.evaluate import evaluate, find_cases, load_cases

    cases = load_cases(find_cases(folder / "images", folder / "masks"))
    off, t_off = _timed(lambda rgb, hole: painter.inpaint(rgb, hole, texture="off"))

    def today(rgb, hole):
        """The previous release: no texture, and auto's former rule (full up to 2x the working size, any hole)."""
        from inpaint.runtime.strategies import choose as C

        saved = C.AUTO_FULL_SIDE, C.AUTO_FULL_RADIUS
        C.AUTO_FULL_SIDE, C.AUTO_FULL_RADIUS = 2.0, float("inf")
        try:
            return painter.inpaint(rgb, hole, texture="off")
        finally:
            C.AUTO_FULL_SIDE, C.AUTO_FULL_RADIUS = saved

    on, t_on = _timed(lambda rgb, hole: painter.inpaint(rgb, hole))
    extra = {"today": today, "texture off": off, "texture on": on}
    for v in variants:
        extra[f"strength {v:g}"] = lambda rgb, hole, v=v: painter.inpaint(rgb, hole, texture=v)
    report = evaluate(cases, None, baselines=("telea",), extra_methods=extra, sheet=None)
    summary = report.summary()["overall"]
    ratios = [b / a for a, b in zip(t_off, t_on)]
    summary["time"] = {"off_s": float(np.median(t_off)), "on_s": float(np.median(t_on)), "ratio": float(np.median(ratios))}
    return summary, cases


def sheet_rows(cases, painter, picks: list[int], crop: bool, height: int = 220) -> list[np.ndarray]:
    """input with the hole | texture off | texture on | truth, one row per case; ``crop``: around the hole."""
    rows = []
    for i in picks:
        case = cases[i]
        rgb, hole = case.rgb, case.hole
        off, on = painter.inpaint(rgb, hole, texture="off"), painter.inpaint(rgb, hole)
        masked = rgb.copy()
        masked[hole] = (0.5 * masked[hole] + 0.5 * np.array([255, 0, 255])).astype(np.uint8)
        panels = [masked, off, on, rgb]
        if crop:
            ys, xs = np.nonzero(hole)
            cy, cx = (ys.min() + ys.max()) // 2, (xs.min() + xs.max()) // 2
            half = int(max(ys.max() - ys.min(), xs.max() - xs.min()) * 0.75) + 8
            y0, x0 = max(0, cy - half), max(0, cx - half)
            panels = [p[y0 : cy + half, x0 : cx + half] for p in panels]
        w = max(1, round(panels[0].shape[1] * height / panels[0].shape[0]))
        tiles = []
        for label, p in zip(("input", "texture off", "texture on", "truth"), panels):
            tile = cv2.resize(np.ascontiguousarray(p), (w, height), interpolation=cv2.INTER_AREA)
            cv2.putText(tile, label, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 0), 1, cv2.LINE_AA)
            tiles.append(tile)
        rows.append(np.concatenate(tiles, 1))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/inpaint-texture"))
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--large", type=Path, default=None, help="folder of real photos of >= 4 MP (validation photos)")
    ap.add_argument("--large-train", type=Path, default=None, help="folder of full-size training photos (secondary set)")
    ap.add_argument("--sets", default="objects,strokes,objects-4x,large,large-train")
    ap.add_argument("--variants", default="", help="extra strengths to score, e.g. 0.5,1.0")
    ap.add_argument("--sheet", type=Path, default=None, help="contact sheet (JPEG) of 6 object cases and 2 large photos")
    args = ap.parse_args()
    from inpaint.runtime import Inpainter

    sets = args.sets.split(",")
    variants = [float(v) for v in args.variants.split(",") if v]
    folders = prepare(args.workdir, args.data, {"large": args.large, "large-train": args.large_train}, sets)
    results, rows = {}, []
    with Inpainter.load(None, engine="onnx") as painter:
        for name in sets:
            if name not in folders:
                print(f"{name}: skipped (no folder given)")
                continue
            t = time.perf_counter()
            results[name], cases = score(folders[name], painter, variants)
            print(f"{name}: {len(cases)} cases, {time.perf_counter() - t:.0f} s", flush=True)
            if args.sheet is not None and name == "objects":
                rows += sheet_rows(cases, painter, list(range(0, len(cases), max(1, len(cases) // 6)))[:6], crop=False)
            if args.sheet is not None and name == "large":
                rows += sheet_rows(cases, painter, list(range(min(2, len(cases)))), crop=True)
    (args.workdir / "results.json").write_text(json.dumps(results, indent=2))
    if rows:
        width = max(r.shape[1] for r in rows)
        rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
        args.sheet.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(args.sheet), np.concatenate(rows, 0)[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 88])
    methods = [m for m in next(iter(results.values())) if m != "time"] if results else []
    print("| set | n | " + " | ".join(f"{m} hole PSNR / SSIM / detail" for m in methods) + " | time on / off |")
    for name, summary in results.items():
        n = summary[methods[0]]["n"]
        cells = [f"{summary[m]['hole_psnr']:.2f} / {summary[m]['ssim']:.4f} / {summary[m]['detail']:.2f}" for m in methods]
        print(f"| {name} | {n} | " + " | ".join(cells) + f" | {summary['time']['ratio']:.2f}x |")


if __name__ == "__main__":
    main()
