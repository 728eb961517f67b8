"""Clips through ``inpaint run`` on the CPU with ONNX Runtime and the bundled default model, in one run.

Three figures (issue 10):

1. **Pipeline overhead**: a 60-frame 512x512 clip (a panning textured scene, a disc removed, H.264
   crf 18). ``run_clip`` (decode, infer and encode threads, batch 1) against the inference alone
   (``inpaint_arrays`` on the same decoded frames, one after the other, same warm runner):
   overhead = wall / inference - 1, target <= 15 %. The whole ``inpaint run`` command (a fresh process:
   imports, model load) is timed too.
2. **Peak memory** of ``run_clip`` on 60 and on 600 frames, each in a fresh process (peak RSS, Linux
   VmHWM after a warm-up inference): equal within 10 %.
3. **Flicker**: the warping error in the hole (:mod:`inpaint.runtime.video.flicker`), frame by frame and
   with ``--temporal``, on a fixed-camera clip (sensor noise) and on a panning clip; target: temporal at
   most 0.7x frame by frame on both. Measured on the frames handed to the encoder.

    python benchmarks/video.py [--frames 60] [--size 512] [--memory-frames 60,600] [--memory-size 512]
                               [--flicker-frames 30] [--flicker-size 256] [--workdir DIR]

The machine may be shared: timings are noisy, compare only the ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.runtime.video.scenes import fixed_camera, panning_camera  # noqa: E402  (synthetic scenes)

OVERHEAD_TARGET = 0.15
MEMORY_TARGET = 0.10
FLICKER_TARGET = 0.7
#: sensor noise (std, grey levels) of the fixed-camera flicker clip: visible grain that H.264 at crf 18
#: keeps (at std 2 it flattens a still scene into identical frames, and nothing flickers at all)
FIXED_NOISE = 6.0


def write_clip(path: Path, frames: list[np.ndarray], rate: int = 25) -> None:
    """frames (H, W, 3) uint8 RGB -> H.264 crf 18 (the default output quality), constant rate."""
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


def write_mask(path: Path, hole: np.ndarray) -> None:
    import cv2

    assert cv2.imwrite(str(path), hole.astype(np.uint8) * 255)


def load_runner():
    from inpaint.runtime.backends import load_runner as load
    from inpaint.runtime.model_files import resolve_model

    return load(resolve_model(None, "onnx"), "onnx", "cpu")


def overhead(workdir: Path, frames: int, size: int) -> dict:
    from inpaint.runtime.pipeline import inpaint_arrays
    from inpaint.runtime.video.decoder import ClipReader
    from inpaint.runtime.video.pipeline import run_clip

    pics, holes = panning_camera(frames, (size, size))
    clip, mask = workdir / f"pan{size}-{frames}.mp4", workdir / f"pan{size}-mask.png"
    write_clip(clip, pics)
    write_mask(mask, holes[frames // 2])  # a static mask (the middle frame's hole)
    with ClipReader(clip) as r:
        decoded = [f.rgb for f in r.frames()]
    import cv2

    hole = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) > 0
    with load_runner() as runner:
        inpaint_arrays(runner, [decoded[0]], [hole])  # warm-up
        t = time.perf_counter()
        for rgb in decoded:
            inpaint_arrays(runner, [rgb], [hole])
        alone = time.perf_counter() - t
        result = run_clip(runner, clip, mask, workdir / "out.mp4")
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "inpaint.cli.main", "run", str(clip), str(mask), "-o",
                           str(workdir / "out-cli.mp4"), "--engine", "onnx", "--device", "cpu"],
                          capture_output=True, text=True, cwd=REPO)
    cli = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return {"frames": len(decoded), "size": size, "inference_s": alone, "pipeline_s": result.seconds,
            "pipeline_infer_s": result.infer_seconds, "cli_s": cli, "overhead": result.seconds / alone - 1}


_MEMORY_CHILD = r"""
import json, sys
from pathlib import Path
import numpy as np, cv2
from inpaint.runtime.bench import _peak_mb, _reset_peak, _rss_mb
from inpaint.runtime.backends import load_runner
from inpaint.runtime.model_files import resolve_model
from inpaint.runtime.pipeline import inpaint_arrays
from inpaint.runtime.video.pipeline import run_clip
clip, mask, out = map(Path, sys.argv[1:4])
mode = sys.argv[4]
with load_runner(resolve_model(None, "onnx"), "onnx", "cpu") as runner:
    hole = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) > 0
    inpaint_arrays(runner, [np.zeros((*hole.shape, 3), np.uint8)], [hole])  # ORT's arenas are allocated now
    loaded = _rss_mb()
    _reset_peak()
    result = run_clip(runner, clip, mask, out, mode=mode)
    print(json.dumps({"frames": result.frames, "inferred": result.inferred, "loaded_mb": loaded, "peak_mb": _peak_mb(),
                      "seconds": result.seconds}))
"""


def peak_memory(clip: Path, mask: Path, out: Path, mode: str = "frames") -> dict:
    """``run_clip`` of ``clip`` in a fresh process (peak RSS after a warm-up inference): frames, inferred,
    loaded_mb, peak_mb, seconds."""
    proc = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(clip), str(mask), str(out), mode],
                          capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def memory(workdir: Path, counts: list[int], size: int) -> list[dict]:
    rows = []
    for n in counts:
        pics, holes = fixed_camera(n, (size, size), noise=2.0)
        clip, mask = workdir / f"still{size}-{n}.mp4", workdir / f"still{size}-mask.png"
        write_clip(clip, pics)
        write_mask(mask, holes[0])
        del pics
        rows.append(peak_memory(clip, mask, workdir / f"mem-{n}.mp4"))
    return rows


def flicker(workdir: Path, frames: int, size: int) -> list[dict]:
    from inpaint.runtime.video.flicker import measure_flicker

    rows = []
    with load_runner() as runner:
        scenes = (("fixed camera", lambda n, hw: fixed_camera(n, hw, noise=FIXED_NOISE)), ("panning camera", panning_camera))
        for name, scene in scenes:
            pics, holes = scene(frames, (size, size))
            stem = name.replace(" ", "-")
            clip, masks = workdir / f"flicker-{stem}.mp4", workdir / f"flicker-{stem}"
            write_clip(clip, pics)
            masks.mkdir(exist_ok=True)
            for i, h in enumerate(holes):
                write_mask(masks / f"{i:05d}.png", h)
            row = {"clip": name, "size": size, **measure_flicker(runner, clip, masks)}
            rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--memory-frames", default="60,600")
    ap.add_argument("--memory-size", type=int, default=512)
    ap.add_argument("--flicker-frames", type=int, default=30)
    ap.add_argument("--flicker-size", type=int, default=256)
    ap.add_argument("--skip", default="", help="comma-separated parts to leave out: overhead, memory, flicker")
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if "overhead" not in skip:
            o = figures["overhead"] = overhead(workdir, args.frames, args.size)
            print(f"overhead: {o['frames']} frames {o['size']}x{o['size']}: inference alone {o['inference_s']:.1f} s, "
                  f"run_clip {o['pipeline_s']:.1f} s (of it inference {o['pipeline_infer_s']:.1f} s), "
                  f"overhead {100 * o['overhead']:+.1f} % (target <= {100 * OVERHEAD_TARGET:.0f} %); "
                  f"whole 'inpaint run' process {o['cli_s']:.1f} s", flush=True)
        if "memory" not in skip:
            m = figures["memory"] = memory(workdir, [int(n) for n in args.memory_frames.split(",")], args.memory_size)
            for row in m:
                print(f"memory: {row['frames']} frames {args.memory_size}x{args.memory_size}: peak RSS {row['peak_mb']:.0f} MB "
                      f"(loaded {row['loaded_mb']:.0f} MB), {row['seconds']:.0f} s", flush=True)
            if len(m) >= 2:
                spread = max(r["peak_mb"] for r in m) / min(r["peak_mb"] for r in m) - 1
                figures["memory_spread"] = spread
                print(f"memory: peak spread {100 * spread:.1f} % (target <= {100 * MEMORY_TARGET:.0f} %)")
        if "flicker" not in skip:
            f = figures["flicker"] = flicker(workdir, args.flicker_frames, args.flicker_size)
            for row in f:
                print(f"flicker: {row['clip']} {row['frames']} frames {row['size']}x{row['size']}: warping error "
                      f"{row['frame_by_frame']:.2f} frame by frame, {row['temporal']:.2f} with --temporal, "
                      f"ratio {row['ratio']:.2f} (target <= {FLICKER_TARGET}); {row['decisions']}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
