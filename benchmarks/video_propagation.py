"""Flow-guided propagation (``--video-mode propagate``, the default) against frame-by-frame, on clips made
from real photos, on the CPU with ONNX Runtime and the bundled default model, in one run (issue 19).

No real footage is on this machine, so every clip is made from the validation photos
(``examples/val_photos.txt`` in ``/work/shared/data/photos`` or ``--photos``): a virtual camera moves over a
photo (a pan, a zoom; sub-pixel motion, bicubic resampling) or stands still (sensor noise, a slight
exposure flicker), and an object is pasted on it: a fixed logo, or a figure cut from another photo that
crosses the frame. The clean clip (the same frames without the object) is the truth. The input clip is
H.264 crf 18 as a user's footage would be; the mask is the object's silhouette grown by
:data:`MASK_GROW` px (video tools dilate masks 4-8 px: ../shared/VIDEO.md), one image for a fixed
object, one per frame for a moving one.

Cases: pan + logo, zoom + logo, still + logo (nothing visible elsewhere: the model fills), still + figure,
pan + figure, three shots with cuts + logo. Figures per mode (frames, propagate;
:func:`inpaint.runtime.video.quality.measure_modes`): hole PSNR against the clean clip, temporal error
in the hole (mean |(out_t - out_t-1) - (clean_t - clean_t-1)|), wall time. Targets: propagate's hole PSNR
>= frames' + 3 dB on average; its temporal error <= 0.5x frames' (mean of the per-case ratios); its time
<= 3x frames'. Peak memory: ``inpaint run``'s default on a 600-frame and on a 60-frame clip (a pan +
logo, ``--memory-size``), each in a fresh process (peak RSS after a warm-up inference): within 10 %.

    python benchmarks/video_propagation.py [--frames 30] [--size 256x384] [--memory-frames 60,600]
                                           [--memory-size 256] [--skip memory] [--json F]

The machine may be shared: timings are noisy, compare only the ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.video import load_runner, peak_memory, write_clip, write_mask  # noqa: E402

PSNR_GAIN_TARGET = 3.0
TEMPORAL_TARGET = 0.5
TIME_TARGET = 3.0
MEMORY_TARGET = 0.10
#: the silhouette is grown by this many pixels into the mask (H.264 smears the object's edge by ~2 px)
MASK_GROW = 3
#: sensor noise (std, grey levels) and exposure flicker (relative amplitude) of the still-camera clips
NOISE, FLICKER = 3.0, 0.02
PHOTOS = Path("/work/shared/data/photos")


def photo(names: list[str], k: int, photos: Path) -> np.ndarray:
    bgr = cv2.imread(str(photos / names[k % len(names)]))
    if bgr is None:
        raise SystemExit(f"{photos / names[k % len(names)]}: cannot read")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def camera(img: np.ndarray, size: tuple[int, int], n: int, *, pan=(0.0, 0.0), zoom=1.0, start=0.0) -> list[np.ndarray]:
    """n frames (H, W) = size seen by a camera over ``img``: it moves ``pan`` (dx, dy) px a frame and its
    scale goes from 1 to ``zoom``; bicubic, sub-pixel. ``img`` is first scaled so the whole path fits."""
    h, w = size
    reach_x, reach_y = abs(pan[0]) * n + w, abs(pan[1]) * n + h
    s0 = max(reach_x / img.shape[1], reach_y / img.shape[0]) * 1.02
    base = cv2.resize(img, (math.ceil(img.shape[1] * s0), math.ceil(img.shape[0] * s0)), interpolation=cv2.INTER_AREA)
    cx0 = base.shape[1] / 2 - pan[0] * n / 2
    cy0 = base.shape[0] / 2 - pan[1] * n / 2
    frames = []
    for t in range(n):
        s = 1.0 + (zoom - 1.0) * t / max(n - 1, 1)
        cx, cy = cx0 + pan[0] * (t + start), cy0 + pan[1] * (t + start)
        m = np.array([[s, 0, w / 2 - s * cx], [0, s, h / 2 - s * cy]], np.float32)
        frames.append(cv2.warpAffine(base, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT))
    return frames


def noisy(frames: list[np.ndarray], seed: int) -> list[np.ndarray]:
    """Sensor noise and a slow exposure flicker (a still camera's clip is never two equal frames)."""
    rng = np.random.default_rng(seed)
    out = []
    for t, f in enumerate(frames):
        gain = 1.0 + FLICKER * math.sin(2 * math.pi * t / 12)
        out.append(np.clip(f.astype(np.float32) * gain + rng.normal(0, NOISE, f.shape), 0, 255).astype(np.uint8))
    return out


def logo(size: tuple[int, int], where: str = "corner") -> tuple[np.ndarray, np.ndarray]:
    """A broadcaster-style logo: (colour (H, W, 3) uint8, alpha (H, W) bool); text and a disc."""
    h, w = size
    colour, alpha = np.zeros((h, w, 3), np.uint8), np.zeros((h, w), np.uint8)
    scale = h / 256
    x0, y0 = (int(w * 0.62), int(h * 0.12)) if where == "corner" else (int(w * 0.3), int(h * 0.55))
    r = int(18 * scale)
    for img, c in ((colour, (240, 240, 240)), (alpha, 255)):
        cv2.circle(img, (x0 + r, y0 + r), r, c, -1)
        cv2.putText(img, "TV5", (x0 + 2 * r + int(6 * scale), y0 + int(1.6 * r)), cv2.FONT_HERSHEY_DUPLEX,
                    1.1 * scale, c, max(2, int(3 * scale)), cv2.LINE_AA)
    cv2.circle(colour, (x0 + r, y0 + r), r // 2, (200, 30, 30), -1)
    return colour, alpha > 0


def figure(donor: np.ndarray, height: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A figure cut from another photo: a head-and-body silhouette (H, W) bool filled with ``donor``'s
    pixels (H, W, 3) uint8."""
    w = height // 2
    sil = np.zeros((height, w), np.uint8)
    cv2.circle(sil, (w // 2, height // 7), height // 8, 255, -1)
    cv2.ellipse(sil, (w // 2, height // 2), (w // 2 - 2, height // 3), 0, 0, 360, 255, -1)
    cv2.rectangle(sil, (w // 4, height // 2), (3 * w // 4, height - 1), 255, -1)
    rng = np.random.default_rng(seed)
    y = int(rng.integers(0, donor.shape[0] - height)) if donor.shape[0] > height else 0
    x = int(rng.integers(0, donor.shape[1] - w)) if donor.shape[1] > w else 0
    patch = cv2.resize(donor, (max(donor.shape[1], w), max(donor.shape[0], height)))[y : y + height, x : x + w]
    return patch, sil > 0


def paste(frame: np.ndarray, colour: np.ndarray, alpha: np.ndarray, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
    """frame with the object at (x, y) (clipped to the frame); returns (frame, its silhouette (H, W) bool)."""
    h, w = frame.shape[:2]
    out, sil = frame.copy(), np.zeros((h, w), bool)
    oh, ow = alpha.shape
    fx0, fy0, fx1, fy1 = max(x, 0), max(y, 0), min(x + ow, w), min(y + oh, h)
    if fx1 <= fx0 or fy1 <= fy0:
        return out, sil
    a = alpha[fy0 - y : fy1 - y, fx0 - x : fx1 - x]
    region = out[fy0:fy1, fx0:fx1]
    region[a] = colour[fy0 - y : fy1 - y, fx0 - x : fx1 - x][a]
    sil[fy0:fy1, fx0:fx1] = a
    return out, sil


def grow(hole: np.ndarray) -> np.ndarray:
    k = np.ones((2 * MASK_GROW + 1, 2 * MASK_GROW + 1), np.uint8)
    return cv2.dilate(hole.astype(np.uint8), k).astype(bool)


def make_cases(names: list[str], photos: Path, n: int, size: tuple[int, int]) -> list[dict]:
    """The six clips: {"name", "clean": frames, "input": frames, "holes": per-frame masks (H, W) bool}."""
    h, w = size
    lc, la = logo(size)
    cases = []

    def with_logo(name, clean, where="corner"):
        c, a = (lc, la) if where == "corner" else logo(size, where)
        pasted = [np.where(a[..., None], c, f) for f in clean]
        cases.append({"name": name, "clean": clean, "input": pasted, "holes": [grow(a)] * len(clean)})

    def with_figure(name, clean, donor, speed):
        col, sil = figure(donor, int(h * 0.6), seed=len(cases))
        inp, holes = [], []
        for t, f in enumerate(clean):
            x = int(-sil.shape[1] + (w + sil.shape[1]) * t / max(len(clean) - 1, 1)) if speed > 0 else \
                int(w - (w + sil.shape[1]) * t / max(len(clean) - 1, 1))
            out, s = paste(f, col, sil, x, int(h * 0.35))
            inp.append(out)
            holes.append(grow(s))
        cases.append({"name": name, "clean": clean, "input": inp, "holes": holes})

    with_logo("pan + logo", camera(photo(names, 0, photos), size, n, pan=(2.3, 0.4)))
    with_logo("zoom + logo", camera(photo(names, 1, photos), size, n, zoom=1.25), where="middle")
    with_logo("still + logo", noisy(camera(photo(names, 2, photos), size, n), seed=2))
    with_figure("still + figure", noisy(camera(photo(names, 3, photos), size, n), seed=3), photo(names, 4, photos), +1)
    with_figure("pan + figure", camera(photo(names, 5, photos), size, n, pan=(-1.7, 0.0)), photo(names, 6, photos), -1)
    third = n // 3
    shots = (camera(photo(names, 7, photos), size, third, pan=(2.0, 0.0))
             + camera(photo(names, 8, photos), size, third, pan=(0.0, 1.5))
             + camera(photo(names, 9, photos), size, n - 2 * third, zoom=1.15))
    with_logo("3 shots (cuts) + logo", shots)
    return cases


def quality(workdir: Path, cases: list[dict]) -> list[dict]:
    from inpaint.runtime.video.quality import measure_modes

    rows = []
    with load_runner() as runner:
        for i, case in enumerate(cases):
            clip, masks = workdir / f"case{i}.mp4", workdir / f"case{i}-masks"
            write_clip(clip, case["input"])
            masks.mkdir(exist_ok=True)
            for k, hole in enumerate(case["holes"]):
                write_mask(masks / f"{k:05d}.png", hole)
            row = measure_modes(runner, clip, masks, clean=case["clean"], modes=("frames", "propagate"))
            row["name"] = case["name"]
            row["hole_ratio"] = float(np.mean([h.mean() for h in case["holes"]]))
            rows.append(row)
            m = row["modes"]
            print(f"{case['name']:<22} hole {100 * row['hole_ratio']:.1f} %: hole PSNR "
                  + " / ".join(f"{m[k]['hole_psnr']:.2f}" for k in m) + " dB, temporal error "
                  + " / ".join(f"{m[k]['temporal_error']:.2f}" for k in m) + ", time "
                  + " / ".join(f"{m[k]['seconds']:.1f}" for k in m) + " s, inferred "
                  + " / ".join(str(m[k]["inferred"]) for k in m) + " (frames / propagate); "
                  + f"propagation {m['propagate'].get('propagation')}", flush=True)
    return rows


def memory(workdir: Path, names: list[str], photos: Path, counts: list[int], side: int) -> list[dict]:
    """A pan + logo clip of each length (the camera sweeps back and forth, so any length fits the photo)."""
    size = (side, side)
    lc, la = logo(size)
    img = photo(names, 0, photos)
    sweep = camera(img, size, 120, pan=(1.6, 0.3))
    sweep = sweep + sweep[::-1]
    rows = []
    for n in counts:
        frames = [np.where(la[..., None], lc, sweep[t % len(sweep)]) for t in range(n)]
        clip, mask = workdir / f"mem{n}.mp4", workdir / "mem-mask.png"
        write_clip(clip, frames)
        write_mask(mask, grow(la))
        del frames
        rows.append(peak_memory(clip, mask, workdir / f"mem-{n}.mp4", mode="propagate"))
        r = rows[-1]
        print(f"memory: {r['frames']} frames {side}x{side}: peak RSS {r['peak_mb']:.0f} MB (loaded {r['loaded_mb']:.0f} MB), "
              f"{r['seconds']:.0f} s, {r['inferred']} frames inferred", flush=True)
    return rows


def summary(rows: list[dict]) -> dict:
    gain = [r["modes"]["propagate"]["hole_psnr"] - r["modes"]["frames"]["hole_psnr"] for r in rows]
    temporal = [r["modes"]["propagate"]["temporal_error"] / r["modes"]["frames"]["temporal_error"] for r in rows]
    time = sum(r["modes"]["propagate"]["seconds"] for r in rows) / sum(r["modes"]["frames"]["seconds"] for r in rows)
    return {"psnr_gain_db": float(np.mean(gain)), "temporal_ratio": float(np.mean(temporal)), "time_ratio": time,
            "per_case_gain": gain, "per_case_temporal_ratio": temporal}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--size", default="256x384", help="HxW of the quality clips")
    ap.add_argument("--memory-frames", default="60,600")
    ap.add_argument("--memory-size", type=int, default=256)
    ap.add_argument("--photos", type=Path, default=PHOTOS)
    ap.add_argument("--skip", default="", help="comma-separated parts to leave out: quality, memory")
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    names = (REPO / "examples" / "val_photos.txt").read_text().split()
    size = tuple(int(v) for v in args.size.split("x"))
    skip = set(filter(None, args.skip.split(",")))
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if "quality" not in skip:
            rows = quality(workdir, make_cases(names, args.photos, args.frames, size))
            s = figures["summary"] = summary(rows)
            figures["cases"] = rows
            print(f"propagate vs frames, mean over {len(rows)} cases: hole PSNR {s['psnr_gain_db']:+.2f} dB "
                  f"(target >= +{PSNR_GAIN_TARGET:g}), temporal error x{s['temporal_ratio']:.2f} (target <= {TEMPORAL_TARGET}), "
                  f"time x{s['time_ratio']:.2f} (target <= {TIME_TARGET:g})", flush=True)
        if "memory" not in skip:
            m = figures["memory"] = memory(workdir, names, args.photos, [int(v) for v in args.memory_frames.split(",")],
                                           args.memory_size)
            if len(m) >= 2:
                spread = max(r["peak_mb"] for r in m) / min(r["peak_mb"] for r in m) - 1
                figures["memory_spread"] = spread
                print(f"memory: peak spread {100 * spread:.1f} % (target <= {100 * MEMORY_TARGET:.0f} %)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=float))


if __name__ == "__main__":
    main()
