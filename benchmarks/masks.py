"""How well ``inpaint mask`` finds pasted objects whose true mask is known (scenes: benchmarks/mask_scenes.py).

    python benchmarks/masks.py [--frames 60] [--out DIR]

Photos: one object pasted on each validation photo (examples/val_photos.txt), masked from a loose box and from a
rough brush. Clips: 640x360 clips made from validation photos (pan, zoom, still camera with the object leaving
and coming back), masked from the true mask of the middle frame. Figures: IoU and recall (share of the object's
pixels the mask covers) of the mask as found (--dilate 0) and with the default --dilate; clips: their means
over the frames and frames per second of the whole ``mask_clip`` (decode, track, write PNGs), and beside them
the key mask carried along optical flow alone (the drift the tracker's appearance model and refinement correct).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mask_scenes import CLIPS, clip_scene, photo_scenes, write_clip  # noqa: E402

from inpaint.runtime.masks import DEFAULT_DILATE  # noqa: E402
from inpaint.runtime.masks.clip import Key, mask_clip  # noqa: E402
from inpaint.runtime.masks.segment import from_box, from_scribble  # noqa: E402
from inpaint.runtime.processing import dilate_mask  # noqa: E402

VAL = Path(__file__).resolve().parents[1] / "examples" / "val_photos.txt"


def scores(mask: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(IoU, recall); an empty truth scores 1 for an empty mask, 0 otherwise (recall 1: nothing to miss)."""
    if not truth.any():
        return (1.0 if not mask.any() else 0.0), 1.0
    inter = float((mask & truth).sum())
    return inter / float((mask | truth).sum()), inter / float(truth.sum())


def _row(name: str, found: list[tuple[float, float]], grown: list[tuple[float, float]], extra: str = "") -> str:
    f, g = np.array(found), np.array(grown)
    return (f"| {name} | {len(found)} | {f[:, 0].mean():.3f} | {f[:, 1].mean():.3f} | {f[:, 1].min():.3f} "
            f"| {g[:, 0].mean():.3f} | {g[:, 1].mean():.3f} |{extra}")


def photos(names: list[str]) -> list[str]:
    box_f, box_g, brush_f, brush_g, seconds = [], [], [], [], []
    for scene in photo_scenes(names):
        start = time.perf_counter()
        by_box = from_box(scene.rgb, scene.box)
        seconds.append(time.perf_counter() - start)
        by_brush = from_scribble(scene.rgb, scene.rough)
        for mask, found, grown in ((by_box, box_f, box_g), (by_brush, brush_f, brush_g)):
            found.append(scores(mask, scene.truth))
            grown.append(scores(dilate_mask(mask, DEFAULT_DILATE), scene.truth))
        print(f"  {scene.name}: box IoU {box_f[-1][0]:.3f} recall {box_f[-1][1]:.3f}; "
              f"brush IoU {brush_f[-1][0]:.3f} recall {brush_f[-1][1]:.3f}", flush=True)
    return [_row("photos, box", box_f, box_g, f" {np.median(seconds):.2f} s |"),
            _row("photos, brush", brush_f, brush_g, " |")]


def flow_only(frames: list[np.ndarray], key_mask: np.ndarray, key: int) -> list[np.ndarray]:
    """The baseline the tracker is measured against: the key mask carried frame to frame along DIS optical flow
    alone (OpenCV's medium preset), forward and backward from the key frame; (H, W) bool per frame."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]
    h, w = key_mask.shape
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    out: list = [None] * len(frames)
    out[key] = key_mask
    for step in (1, -1):
        mask = key_mask.astype(np.float32)
        for j in range(key + step, len(frames) if step > 0 else -1, step):
            flow = dis.calc(grey[j], grey[j - step], None)  # where each pixel of frame j was in the previous one
            mask = cv2.remap(mask, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR)
            out[j] = mask >= 0.5
    return out


def clips(names: list[str], n: int, folder: Path) -> list[str]:
    rows = []
    for i, kind in enumerate(CLIPS):
        scene = clip_scene(kind, names[(3 * i) % len(names)], names[(3 * i + 7) % len(names)], n, seed=i)
        path = folder / f"{kind}.mp4"
        write_clip(path, scene.frames)
        key = n // 2
        cv2.imwrite(str(folder / "key.png"), scene.truths[key].astype(np.uint8) * 255)
        out = folder / f"{kind}_masks"
        result = mask_clip(path, Key(mask=folder / "key.png"), key, out)
        masks = [cv2.imread(str(out / f"{j:05d}.png"), cv2.IMREAD_GRAYSCALE) > 0 for j in range(result.frames)]
        found = [scores(m, t) for m, t in zip(masks, scene.truths)]
        grown = [scores(dilate_mask(m, DEFAULT_DILATE), t) for m, t in zip(masks, scene.truths)]
        fps = result.frames / result.seconds
        drift = [scores(m, t) for m, t in zip(flow_only(scene.frames, scene.truths[key], key), scene.truths)]
        print(f"  {scene.name}: {result.frames} frames, {fps:.1f} frames/s", flush=True)
        rows.append(_row(f"clip {scene.name}", found, grown, f" {fps:.1f} frames/s |"))
        rows.append(_row(f"  the same, flow alone", drift, drift, " |"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--out", type=Path, default=None, help="keep the clips and masks here")
    args = parser.parse_args()
    names = [line.strip() for line in VAL.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        rows = photos(names) + clips(names, args.frames, folder)
    print(f"\n| case | n | IoU | recall | min recall | IoU, --dilate {DEFAULT_DILATE} | recall, --dilate {DEFAULT_DILATE} | speed |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
