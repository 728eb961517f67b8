"""Peak memory and wall time of ``inpaint run`` on a large photo with two small holes (issue 11).

    python benchmarks/large_photo.py [--workdir DIR] [--size 8000x6000] [--small 512] [--full 2000x1500]

Makes (in a temporary folder unless ``--workdir``) an 8000x6000 JPEG (a validation photo enlarged,
or a smooth synthetic picture when no photo is there) with a mask of two small holes, the same at
512x512, and a 2000x1500 one; then runs each ``inpaint run PHOTO MASK -o OUT.jpg`` with the default
settings (bundled model, ``--strategy auto``) in its own process, and ``--strategy full`` on the
2000x1500 photo. Peak memory is the child's peak resident set size (``os.wait4``'s ``ru_maxrss``: the
whole process, Python, the model, the decoded photo and the encoder); wall time is the whole command.

Targets (issue 11): the large photo's peak <= 1 GB, its wall time <= 4x the 512x512 run's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
#: the project's photos sit in ../shared beside the checkout (a worktree one level deeper: ../../shared)
PHOTOS = next((p for p in (REPO.parent / "shared" / "data" / "photos", REPO.parent.parent / "shared" / "data" / "photos")
               if p.is_dir()), REPO.parent / "shared" / "data" / "photos")
PHOTO = PHOTOS / "lomiri_sunset_by_Aitzol_Berasategi.jpg"
PEAK_TARGET_MB = 1024
TIME_RATIO_TARGET = 4.0


def _picture(h: int, w: int) -> np.ndarray:
    """(h, w, 3) uint8 BGR: the validation photo enlarged, else a smooth synthetic scene."""
    src = cv2.imread(str(PHOTO)) if PHOTO.is_file() else None
    if src is None:
        yy, xx = np.mgrid[0:256, 0:256].astype(np.float32)
        src = np.stack([xx, yy, (xx + yy) / 2], -1).astype(np.uint8)
    return cv2.resize(src, (w, h), interpolation=cv2.INTER_CUBIC)


def make_case(folder: Path, name: str, h: int, w: int) -> tuple[Path, Path]:
    """``name``-WxH.jpg and ``name``-WxH_mask.png (two holes of 2-4 % of the short side)."""
    photo, mask = folder / f"{name}-{w}x{h}.jpg", folder / f"{name}-{w}x{h}_mask.png"
    if not photo.is_file():
        cv2.imwrite(str(photo), _picture(h, w), [cv2.IMWRITE_JPEG_QUALITY, 95])
        hole = np.zeros((h, w), np.uint8)
        s = max(8, min(h, w) // 50)  # 120 px at 6000, 10 px at 512
        hole[h // 3 : h // 3 + s, w // 4 : w // 4 + 2 * s] = 255
        hole[2 * h // 3 : 2 * h // 3 + 2 * s, 3 * w // 5 : 3 * w // 5 + s] = 255
        cv2.imwrite(str(mask), hole)
    return photo, mask


def run(photo: Path, mask: Path, out: Path, *extra: str) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, last lines of stderr) of one ``inpaint run`` in a child process."""
    cmd = [sys.executable, "-m", "inpaint.cli.main", "-v", "run", str(photo), str(mask), "-o", str(out), *extra]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {stdout}{stderr}")
    strategy = [line for line in stderr.splitlines() if "strategy" in line]
    return wall, usage.ru_maxrss / 1024, (strategy[-1].split(": ", 1)[-1] if strategy else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--size", default="8000x6000", help="W x H of the large photo")
    ap.add_argument("--small", type=int, default=512)
    ap.add_argument("--full", default="2000x1500", help="W x H of the photo run with --strategy full")
    args = ap.parse_args()
    (lw, lh), (fw, fh) = (map(int, s.split("x")) for s in (args.size, args.full))
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        cases = {
            f"{args.small}x{args.small}": (make_case(work, "small", args.small, args.small), ()),
            f"{lw}x{lh}": (make_case(work, "large", lh, lw), ()),
            f"{fw}x{fh} --strategy full": (make_case(work, "full", fh, fw), ("--strategy", "full")),
        }
        results = {}
        for label, ((photo, mask), extra) in cases.items():
            results[label] = run(photo, mask, work / f"out_{photo.stem}.jpg", *extra)
            wall, peak, how = results[label]
            print(f"{label:28s} wall {wall:7.2f} s   peak RSS {peak:7.0f} MB   {how}", flush=True)
    small_wall = results[f"{args.small}x{args.small}"][0]
    large_wall, large_peak, _ = results[f"{lw}x{lh}"]
    ratio = large_wall / small_wall
    print(f"large photo: peak {large_peak:.0f} MB (target <= {PEAK_TARGET_MB}), "
          f"wall {ratio:.2f}x the {args.small}x{args.small} run (target <= {TIME_RATIO_TARGET:g}x)")
    ok = large_peak <= PEAK_TARGET_MB and ratio <= TIME_RATIO_TARGET
    print("targets met" if ok else "targets NOT met")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
