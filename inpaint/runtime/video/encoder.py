"""Write a clip with PyAV: the inpainted frames with their timestamps, the input's rotation, its audio.

    with ClipWriter(tmp_path, reader.info, codec=None, crf=None, preset=None) as out:
        out.write(rgb, pts)          # (H, W, 3) uint8 RGB, stored orientation; pts strictly increasing
    # closing flushes the encoder and muxes the rest of the audio

What is kept from the input (``info.path``, opened a second time to demux its other streams):

- every frame's time (VFR kept: the encoder's time base is the repaired one, and each frame's pts is set);
- the display rotation (``set_display_rotation``, set before the first packet: FFmpeg writes the
  display matrix with the header, at the first mux of any stream);
- the pixel aspect ratio;
- audio streams copied packet for packet (same codec, same packets) when the output container can
  hold the codec, else decoded and re-encoded (``formats.AUDIO_FALLBACK``) with a warning;
- subtitle streams copied the same way when the container can hold them; data streams (timecodes,
  chapters' text, telemetry) and subtitles it cannot hold are named in a warning and left out.

Audio packets are muxed as the video reaches their time, so the muxer's interleaving buffer stays small.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import numpy as np

from inpaint.errors import UserError
from inpaint.runtime.video.decoder import ClipInfo, open_container
from inpaint.runtime.video.formats import (
    AUDIO_FALLBACK,
    AUDIO_FALLBACK_DEFAULT,
    encoder_settings,
    takes_crf,
    takes_preset,
)

__all__ = ["ClipWriter"]

#: FFmpeg's AVCOL_SPC_UNSPECIFIED: no matrix given (then PyAV's default conversion is used both ways)
UNSPECIFIED = 2

_log = logging.getLogger(__name__)


class _Reencode:
    """Decode one input audio stream and encode it with ``codec`` into ``out_stream``."""

    def __init__(self, out_stream):
        import av

        self.out = out_stream
        cc = out_stream.codec_context
        self.resampler = av.AudioResampler(format=cc.format, layout=cc.layout, rate=cc.sample_rate)

    def packets(self, packet):
        frames = packet.decode() if packet is not None else []
        out = []
        for frame in frames:
            frame.pts = None
            for f in self.resampler.resample(frame):
                out.extend(self.out.encode(f))
        return out

    def flush(self):
        out = []
        for f in self.resampler.resample(None):
            out.extend(self.out.encode(f))
        out.extend(self.out.encode(None))
        return out


class ClipWriter:
    """An output clip being written; see the module docstring. Raises UserError for an encoder the
    installed PyAV lacks or that rejects the settings."""

    def __init__(self, path: str | Path, info: ClipInfo, *, codec: str | None = None, crf: int | None = None,
                 preset: str | None = None, name: str | None = None):
        import av

        self.path, self.info = Path(path), info
        self.name = name or str(path)  # the user's output name for messages (path may be a temporary name)
        h, w = info.size
        suffix = self.path.suffix.lower()
        self.settings = encoder_settings(suffix, w, h, codec, crf, preset)
        if crf is not None and not takes_crf(self.settings.codec):
            _log.warning("%s: --crf is ignored by the %s encoder", self.name, self.settings.codec)
        if preset is not None and not takes_preset(self.settings.codec):
            _log.warning("%s: --preset is ignored by the %s encoder", self.name, self.settings.codec)
        if self.settings.odd_size:
            _log.warning(
                "%s: %dx%d is odd and 4:2:0 needs even sizes; encoding 4:4:4 (yuv444p) at the same size, which "
                "some players (browsers, QuickTime) cannot play; crop to an even size for them", self.name, w, h,
            )
        try:
            self._out = av.open(str(self.path), "w")
        except (av.error.FFmpegError, ValueError) as exc:
            raise UserError(f"{self.name}: cannot write this kind of file ({exc}); use mp4, mkv, mov, avi or webm") from exc
        try:
            self._open_video(w, h)
            self._copy = self._open_others(suffix)
        except BaseException:
            self._out.close()
            raise
        self._pending = None  # the next packet of the input's other streams, not muxed yet
        self.frames = 0

    def _open_video(self, w: int, h: int) -> None:
        import av

        s = self.settings
        rate = self.info.rate or Fraction(25)
        try:
            v = self._out.add_stream(s.codec, rate=rate, options=dict(s.options))
        except (av.error.FFmpegError, ValueError, KeyError) as exc:
            raise UserError(f"{self.name}: no '{s.codec}' encoder in this PyAV build ({exc}); choose another --codec") from exc
        v.width, v.height = w, h
        if s.pix_fmt:
            v.pix_fmt = s.pix_fmt
        self._cfr = self.path.suffix.lower() == ".avi"  # AVI stores a frame rate, no per-frame times
        self._tb = Fraction(1) / rate if self._cfr else self.info.time_base
        self._last_tick = None
        v.codec_context.time_base = self._tb
        v.time_base = self._tb
        colour = self.info.colour
        self._convert = {}
        if s.pix_fmt and s.pix_fmt.startswith("yuv") and colour.get("colorspace", UNSPECIFIED) != UNSPECIFIED:
            # convert with the input's matrix and range and say so in the file, as the input did
            self._convert = {"format": s.pix_fmt, "dst_colorspace": colour["colorspace"],
                             "dst_color_range": colour.get("color_range") or None}
            for key, value in colour.items():
                if value:
                    setattr(v.codec_context, key, value)
        if self.info.sample_aspect_ratio:
            v.codec_context.sample_aspect_ratio = self.info.sample_aspect_ratio
        if self.info.rotation:
            v.set_display_rotation(self.info.rotation)
        self._video = v

    def _open_others(self, suffix: str):
        """Open the input again for its audio and subtitle streams; returns (container, {in index: how})."""
        src = open_container(self.info.path)
        supported = self._out.supported_codecs
        plan: dict[int, object] = {}
        dropped = []
        for s in src.streams:
            if s.type == "video":
                if s.index != src.streams.video[0].index:
                    dropped.append(f"#{s.index} video ({s.codec_context.name}, only the first video stream is inpainted)")
                continue
            codec = s.codec_context.name if s.codec_context else None
            if s.type in ("audio", "subtitle") and codec in supported:
                plan[s.index] = self._out.add_stream_from_template(s)
                continue
            if s.type == "audio":
                fallback = AUDIO_FALLBACK.get(suffix, AUDIO_FALLBACK_DEFAULT)
                _log.warning("%s: %s cannot hold %s audio (stream #%d); re-encoding it to %s",
                             self.name, suffix, codec, s.index, fallback)
                o = self._out.add_stream(fallback, rate=s.codec_context.sample_rate)
                o.layout = s.codec_context.layout
                plan[s.index] = _Reencode(o)
                continue
            dropped.append(f"#{s.index} {s.type} ({codec or 'unknown codec'})")
        if dropped:
            _log.warning("%s: left out stream(s) %s: %s cannot hold them or inpaint does not copy them",
                         self.name, ", ".join(dropped), suffix)
        if not plan:
            src.close()
            return None
        selected = [s for s in src.streams if s.index in plan]
        return src, plan, src.demux(selected)

    # --- writing ---------------------------------------------------------------------------------
    def write(self, rgb: np.ndarray, pts: int, duration: int | None = None) -> None:
        """Encode one frame. rgb: (H, W, 3) uint8 RGB, the clip's stored size; pts: ``info.time_base`` ticks,
        strictly increasing. duration: the frame's duration in ticks (the muxer gives the last frame this)."""
        import av

        if rgb.shape != (*self.info.size, 3) or rgb.dtype != np.uint8:
            raise ValueError(f"expected a {self.info.size} RGB uint8 frame, got {rgb.dtype} {rgb.shape}")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        if self._convert:
            frame = frame.reformat(**self._convert)
        tick = pts
        if self._cfr:  # onto the frame-rate grid, one frame per tick
            tick = int(round(pts * self.info.time_base / self._tb))
            if self._last_tick is not None and tick <= self._last_tick:
                tick = self._last_tick + 1
            if tick * self._tb != pts * self.info.time_base and not getattr(self, "_snapped", False):
                _log.warning("%s: AVI holds one frame rate; variable frame times are moved onto its %s fps grid",
                             self.name, self.info.rate)
                self._snapped = True
            duration = 1
        self._last_tick = tick
        frame.pts, frame.time_base = tick, self._tb
        if duration:
            frame.duration = duration
        self._mux_others_until(pts * self.info.time_base)
        for packet in self._video.encode(frame):
            self._out.mux(packet)
        self.frames += 1
        self._last_pts = pts

    def _mux_others_until(self, time: Fraction | None) -> None:
        """Mux the other streams' packets whose time is at or before ``time`` (None: all)."""
        if self._copy is None:
            return
        src, plan, packets = self._copy
        while True:
            if self._pending is None:
                self._pending = next(packets, None)
                if self._pending is None:
                    return
            p = self._pending
            if time is not None and p.pts is not None and p.time_base is not None and p.pts * p.time_base > time:
                return
            self._pending = None
            how = plan[p.stream.index]
            if isinstance(how, _Reencode):
                for q in how.packets(p if p.size else None):
                    self._out.mux(q)
                continue
            if not p.size:  # the demuxer's end-of-stream flush packet
                continue
            p.stream = how
            self._out.mux(p)

    def close(self) -> None:
        """Flush the encoder, mux the rest of the other streams, write the trailer."""
        try:
            for packet in self._video.encode(None):
                self._out.mux(packet)
            self._mux_others_until(None)
            if self._copy is not None:
                for how in self._copy[1].values():
                    if isinstance(how, _Reencode):
                        for q in how.flush():
                            self._out.mux(q)
        finally:
            self.abort()

    def abort(self) -> None:
        """Close the files without flushing (after a failure; the caller deletes the output)."""
        if self._copy is not None:
            self._copy[0].close()
            self._copy = None
        if self._out is not None:
            self._out.close()
            self._out = None

    def __enter__(self) -> ClipWriter:
        return self

    def __exit__(self, exc_type, *exc_info: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
