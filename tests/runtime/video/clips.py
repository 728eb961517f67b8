"""Tiny clips written by the tests with PyAV (nothing is committed): moving shapes, optional audio."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

AUDIO_RATE = 16000
AUDIO_FRAME = 1024  # samples per audio frame given to the encoder


def picture(i: int, h: int, w: int) -> np.ndarray:
    """Frame i: a smooth gradient, a bar that moves right by 3 px a frame, a fixed red block."""
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)), np.full_like(xx, 96)], -1).astype(np.uint8)
    x0 = (3 * i) % w
    rgb[:, x0 : x0 + 6] = (240, 240, 240)
    rgb[: h // 3, : w // 4] = (200, 30, 30)
    return rgb


def make_clip(
    path: Path,
    frames: int = 10,
    size: tuple[int, int] = (48, 64),
    *,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    rate: int = 25,
    pts: list[int] | None = None,
    time_base: Fraction | None = None,
    rotation: int = 0,
    audio: str | None = None,
    faststart: bool = False,
) -> list[np.ndarray]:
    """Write a clip; returns the RGB frames given to the encoder. pts / time_base: explicit frame times
    (VFR); rotation: display rotation (degrees counter-clockwise); audio: an audio encoder name;
    faststart: mp4 index at the front (as web videos are), so a truncated file still opens."""
    h, w = size
    out = av.open(str(path), "w", options={"movflags": "faststart"} if faststart else {})
    v = out.add_stream(codec, rate=rate, options={"crf": "10", "preset": "ultrafast"} if codec == "libx264" else {})
    v.width, v.height, v.pix_fmt = w, h, pix_fmt
    tb = time_base or Fraction(1, rate)
    v.codec_context.time_base = tb
    if rotation:
        v.set_display_rotation(rotation)
    a = None
    if audio:
        a = out.add_stream(audio, rate=AUDIO_RATE)
        a.layout = "mono"
    pics = []
    for i in range(frames):
        rgb = picture(i, h, w)
        pics.append(rgb)
        f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        f.pts = pts[i] if pts is not None else i
        f.time_base = tb
        for p in v.encode(f):
            out.mux(p)
    for p in v.encode():
        out.mux(p)
    if a is not None:
        seconds = float((pts[-1] + 1) * tb) if pts is not None else frames / rate
        fmt = a.codec_context.format.name if a.codec_context.format else "s16"
        for k in range(int(seconds * AUDIO_RATE / AUDIO_FRAME) + 1):
            t = np.arange(k * AUDIO_FRAME, (k + 1) * AUDIO_FRAME) / AUDIO_RATE
            wave = 0.3 * np.sin(2 * np.pi * 440 * t)
            samples = wave.astype(np.float32)[None] if fmt.startswith("flt") else (wave * 32767).astype(np.int16)[None]
            af = av.AudioFrame.from_ndarray(samples, format="fltp" if fmt.startswith("flt") else "s16", layout="mono")
            af.sample_rate, af.pts = AUDIO_RATE, k * AUDIO_FRAME
            for p in a.encode(af):
                out.mux(p)
        for p in a.encode():
            out.mux(p)
    out.close()
    return pics


def read_clip(path: Path) -> dict:
    """What a test checks: frames (RGB), pts, time_base, rotation, duration, audio codec and packet counts."""
    c = av.open(str(path))
    try:
        v = c.streams.video[0]
        frames, pts, rotation = [], [], 0
        for f in c.decode(v):
            frames.append(f.to_ndarray(format="rgb24"))
            pts.append(f.pts)
            rotation = f.rotation
        info = {
            "frames": frames, "pts": pts, "time_base": v.time_base, "rotation": rotation,
            "size": (v.codec_context.height, v.codec_context.width), "codec": v.codec_context.name,
            "pix_fmt": v.codec_context.pix_fmt,
            "seconds": [float(p * v.time_base) for p in pts],
            "duration": float(v.duration * v.time_base) if v.duration else None,
            "audio": [(s.codec_context.name, s.index) for s in c.streams.audio],
        }
    finally:
        c.close()
    c = av.open(str(path))
    try:
        counts: dict[int, int] = {}
        for p in c.demux(c.streams.audio) if c.streams.audio else []:
            if p.size:
                counts[p.stream.index] = counts.get(p.stream.index, 0) + 1
        info["audio_packets"] = [counts.get(i, 0) for _, i in info["audio"]]
    finally:
        c.close()
    return info
