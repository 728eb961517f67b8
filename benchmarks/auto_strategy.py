"""Where ``--strategy auto`` should run ``full``: hole PSNR of full, crop and resize on real photos of real detail,
with the texture stage on (issue 18, point 5).

    python benchmarks/auto_strategy.py [--workdir DIR] [--large DIR] [--sides 1536,2048]

Photos: the 12 validation photos at 1x (480 and 1024 px, ``examples/val_photos.txt``) and the full-size
validation originals in ``--large`` shrunk (pixel-area averaging: real detail at every size) to each of
``--sides``. Masks per photo: free-form strokes (``inpaint eval --generate-masks``, seed 0, bins 1, 3 and 5) and two
object silhouettes (:func:`inpaint.runtime.evaluate.make_object_masks`, 8-25 %). For every case the hole's
inscribed radius (largest distance from a hole pixel to the known region, native pixels) is recorded beside the
three strategies' hole PSNR, and the rule ``full when long side <= S and radius <= R`` (crop / resize by
window cover otherwise, as auto does) is scored for a grid of (S, R) against ``full`` on every set.
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


def prepare(workdir: Path, data: Path, large: Path | None, sides: list[int]) -> list[Path]:
    from inpaint.runtime.evaluate import make_masks, make_object_masks
    from inpaint.runtime.io import read_image, write_image

    folders = []
    sources = {"1x": [data / n for n in (REPO / "examples" / "val_photos.txt").read_text().split()]}
    for side in sides if large is not None else []:
        sources[f"{side}px"] = sorted(large.iterdir())
    for name, photos in sources.items():
        folder = workdir / name
        folders.append(folder)
        if (folder / "masks").is_dir():
            continue
        (folder / "images").mkdir(parents=True)
        for p in photos:
            rgb = read_image(p).rgb
            if name != "1x":
                s = int(name[:-2]) / max(rgb.shape[:2])
                rgb = cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
            write_image(folder / "images" / (p.stem + ".png"), rgb)
        make_masks(folder / "images", workdir / f"{name}-strokes", seed=0)
        (folder / "masks").mkdir()
        for m in sorted((workdir / f"{name}-strokes").iterdir()):
            if m.stem.split("__b")[1].split("_")[0] in ("1", "3", "5"):
                m.rename(folder / "masks" / m.name)
        make_object_masks(folder / "images", folder / "masks", per_photo=2, seed=0)
    return folders


def measure(folder: Path, painter) -> list[dict]:
    from inpaint.metrics import psnr
    from inpaint.runtime.evaluate import find_cases, load_cases
    from inpaint.runtime.strategies.choose import choose

    out = folder / "cases.json"
    if out.is_file():
        return json.loads(out.read_text())
    rows = []
    for case in load_cases(find_cases(folder / "images", folder / "masks")):
        radius = float(cv2.distanceTransform(np.pad(case.hole, 1).astype(np.uint8), cv2.DIST_L2, 5).max())
        row = {"case": case.name, "side": max(case.rgb.shape[:2]), "radius": radius,
               "kind": "objects" if "__o" in case.name else "strokes",
               "shrunk": choose(painter.runner, case.hole, float("inf"))[0] if max(case.rgb.shape[:2]) > 2 * 256 else None}
        for strategy in ("full", "crop", "resize"):
            t = time.perf_counter()
            result = painter.inpaint(case.rgb, case.hole, strategy=strategy)
            row[strategy] = psnr(result[case.hole] / 255.0, case.rgb[case.hole] / 255.0)
            row[f"{strategy}_s"] = time.perf_counter() - t
        rows.append(row)
        print(folder.name, case.name, {k: round(v, 2) for k, v in row.items() if isinstance(v, float)}, flush=True)
    out.write_text(json.dumps(rows, indent=1))
    return rows


def shrunk(row: dict) -> float:
    """What auto runs when it does not run full: crop, or resize when the windows would cover > 35 %."""
    from inpaint.runtime.strategies.choose import AUTO_RESIZE_COVER  # noqa: F401  (the rule the field records)

    return row[row["shrunk"]] if row.get("shrunk") in ("crop", "resize") else row["crop"]


def rule(row: dict, side: float, radius: float) -> float:
    return row["full"] if row["side"] <= side and row["radius"] <= radius else shrunk(row)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/inpaint-auto"))
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--large", type=Path, default=None, help="full-size validation photos (shrunk to --sides)")
    ap.add_argument("--sides", default="1536,2048")
    args = ap.parse_args()
    from inpaint.runtime import Inpainter

    folders = prepare(args.workdir, args.data, args.large, [int(s) for s in args.sides.split(",") if s])
    sets: dict[str, list[dict]] = {}
    with Inpainter.load(None, engine="onnx") as painter:
        for folder in folders:
            for row in measure(folder, painter):
                sets.setdefault(f"{folder.name} {row['kind']}", []).append(row)
    sides = [512, 768, 1024, 1536, 2048, 1e9]
    radii = [32, 48, 64, 80, 96, 128, 1e9]
    print("| set | n | full | crop | resize | auto before (side <= 512) |")
    for name, rows in sets.items():
        print(f"| {name} | {len(rows)} | " + " | ".join(f"{np.mean([r[k] for r in rows]):.2f}" for k in ("full", "crop", "resize"))
              + f" | {np.mean([rule(r, 512, 1e9) for r in rows]):.2f} |")
    print("\nrule 'full when side <= S and radius <= R': worst set margin over full (dB) / mean over all cases")
    table = {}
    for s in sides:
        for r in radii:
            margins = [np.mean([rule(x, s, r) - x["full"] for x in rows]) for rows in sets.values()]
            mean = np.mean([rule(x, s, r) for rows in sets.values() for x in rows])
            table[(s, r)] = (min(margins), mean)
    print("S \\ R " + " ".join(f"{r:>13g}" for r in radii))
    for s in sides:
        print(f"{s:>6g} " + " ".join(f"{table[(s, r)][0]:+6.2f}/{table[(s, r)][1]:6.2f}" for r in radii))
    (args.workdir / "table.json").write_text(json.dumps({f"{s},{r}": v for (s, r), v in table.items()}, indent=1))


if __name__ == "__main__":
    main()
