"""PSNR in the holes of ``--strategy crop``, ``resize`` and ``full`` on enlarged validation photos (issue 11, point 4).

    python benchmarks/large_photo_quality.py [--workdir DIR] [--photos N] [--scales 1,2,4] [--bins 1,3,5]

The first ``--photos`` 480x360 photos of ``examples/val_photos.txt`` (read from ``--data``, never copied
into the repository) are enlarged ``--scales`` times with bicubic interpolation; free-form masks
(``inpaint eval --generate-masks``, seed 0) of the hole-ratio bins ``--bins`` are made at 1x and enlarged
with nearest neighbour; a second set per scale (``<s>x-objects``) has two masks per photo of two compact
blobs each (the object-removal case). Each (set, strategy) is one ``inpaint eval --strategy S --baselines ''`` run on
the bundled default model; ``crop`` is also scored with bilinear instead of bicubic enlarging (through
the same :func:`inpaint.runtime.evaluate.evaluate`). Prints the hole-PSNR table and writes every run's
JSON into the work folder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def prepare(workdir: Path, data: Path, n_photos: int, scales: list[int], bins: list[int]) -> None:
    from inpaint.runtime.evaluate import make_masks
    from inpaint.runtime.io import read_image, read_mask, write_image

    names = [l.strip() for l in (REPO / "examples" / "val_photos.txt").read_text().splitlines() if l.strip()]
    small = [n for n in names if read_image(data / n).size == (360, 480)][:n_photos]
    base = workdir / "1x"
    if not (base / "masks").is_dir():
        (base / "images").mkdir(parents=True, exist_ok=True)
        for n in small:
            write_image(base / "images" / (Path(n).stem + ".png"), read_image(data / n).rgb)
        make_masks(base / "images", workdir / "all-masks")
        (base / "masks").mkdir()
        for m in sorted((workdir / "all-masks").iterdir()):
            if int(m.stem.split("__b")[1].split("_")[0]) in bins:
                m.rename(base / "masks" / m.name)
    for s in scales:
        if s == 1 or (workdir / f"{s}x" / "masks").is_dir():
            continue
        out = workdir / f"{s}x"
        (out / "images").mkdir(parents=True, exist_ok=True)
        (out / "masks").mkdir(parents=True, exist_ok=True)
        for p in sorted((base / "images").iterdir()):
            rgb = read_image(p).rgb
            write_image(out / "images" / p.name, cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC))
        for m in sorted((base / "masks").iterdir()):
            hole = read_mask(m).astype("uint8") * 255
            write_image(out / "masks" / m.name, cv2.resize(hole, None, fx=s, fy=s, interpolation=cv2.INTER_NEAREST))


def prepare_objects(workdir: Path, scales: list[int]) -> None:
    """A second set, ``<s>x-objects``: per photo two masks of two compact blobs (ellipses, seeded), the
    object-removal case that free-form strokes spread over the whole photo do not cover."""
    from inpaint.runtime.io import read_image, write_image

    base = workdir / "1x"
    for s in scales:
        out = workdir / f"{s}x-objects"
        if (out / "masks").is_dir():
            continue
        (out / "masks").mkdir(parents=True)
        (out / "images").symlink_to((workdir / f"{s}x" / "images").resolve())
        for i, p in enumerate(sorted((base / "images").iterdir())):
            h, w = read_image(p).size
            for j in range(2):
                rng = np.random.default_rng([i, j])
                hole = np.zeros((h, w), np.uint8)
                for _ in range(2):
                    axes = (int(rng.integers(12, 40)), int(rng.integers(12, 40)))
                    centre = (int(rng.integers(60, w - 60)), int(rng.integers(60, h - 60)))
                    cv2.ellipse(hole, centre, axes, float(rng.integers(0, 180)), 0, 360, 255, -1)
                big = cv2.resize(hole, None, fx=s, fy=s, interpolation=cv2.INTER_NEAREST)
                write_image(out / "masks" / f"{p.stem}__o{j}.png", big)


def run_eval(folder: Path, strategy: str) -> dict:
    out = folder / f"eval-{strategy}.json"
    if not out.is_file():
        cmd = [sys.executable, "-m", "inpaint.cli.main", "eval", "--images", str(folder / "images"), "--masks",
               str(folder / "masks"), "--baselines", "", "--strategy", strategy, "--json", str(out), "--sheet",
               str(folder / f"sheet-{strategy}.png")]
        t = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=REPO)
        print(f"{folder.name} {strategy}: {time.perf_counter() - t:.0f} s", flush=True)
    return json.loads(out.read_text())["summary"]


def run_linear(folder: Path) -> dict:
    """crop with bilinear enlarging, through evaluate() (inpaint eval has no option for it)."""
    out = folder / "eval-crop-linear.json"
    if not out.is_file():
        from inpaint.runtime import Inpainter
        from inpaint.runtime.evaluate import evaluate, find_cases, load_cases
        from inpaint.runtime.strategies.crop import inpaint_crop

        cases = load_cases(find_cases(folder / "images", folder / "masks"))
        with Inpainter.load(None, engine="onnx") as painter:
            model = lambda rgb, hole: inpaint_crop(painter.runner, [rgb], [hole], interpolation=cv2.INTER_LINEAR)[0][0]  # noqa: E731
            report = evaluate(cases, model, baselines=(), model_name="madf-s")
        out.write_text(report.to_json())
    return json.loads(out.read_text())["summary"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/inpaint-large-quality"))
    ap.add_argument("--data", type=Path, default=next((p for p in (REPO.parent / "shared" / "data" / "photos", REPO.parent.parent / "shared" / "data" / "photos") if p.is_dir()),
                                                          REPO.parent / "shared" / "data" / "photos"))
    ap.add_argument("--photos", type=int, default=6)
    ap.add_argument("--scales", default="1,2,4")
    ap.add_argument("--bins", default="1,3,5")
    ap.add_argument("--strategies", default="crop,resize,full")
    args = ap.parse_args()
    scales, bins = [int(s) for s in args.scales.split(",")], [int(b) for b in args.bins.split(",")]
    prepare(args.workdir, args.data, args.photos, scales, bins)
    prepare_objects(args.workdir, scales)
    table: dict[str, dict[str, dict]] = {}
    for s in scales:
        for kind in ("", "-objects"):
            folder = args.workdir / f"{s}x{kind}"
            table[folder.name] = {st: run_eval(folder, st) for st in args.strategies.split(",")}
            table[folder.name]["crop-linear"] = run_linear(folder)
    (args.workdir / "table.json").write_text(json.dumps(table, indent=2))
    print("| set | hole-ratio bin | n | " + " | ".join(table[f"{scales[0]}x"]) + " |")
    for scale, by_strategy in table.items():
        for group in next(iter(by_strategy.values())):
            cells = [f"{by_strategy[st][group]['madf-s']['hole_psnr']:.2f}" for st in by_strategy]
            n = next(iter(by_strategy.values()))[group]["madf-s"]["n"]
            print(f"| {scale} | {group} | {n} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
