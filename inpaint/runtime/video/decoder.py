"""Read a clip's video frames with PyAV: RGB pixels in stored orientation, repaired timestamps.

    with ClipReader("clip.mp4") as clip:
        clip.info.rotation, clip.info.size               # display rotation (degrees CCW), stored (H, W)
        for frame in clip.frames():                      # DecodedFrame(index, rgb, pts)
            ...

Frames come in display order (what the decoder gives), every one of them: the header's frame count is
never used except as an estimate for a progress bar (it can lie). Timestamps go through
:class:`~inpaint.runtime.video.timestamps.TimestampRepair` in a finer time base where the clip's is
coarse. PyAV does not rotate frames: ``rgb`` is as stored, and ``info.rotation`` says how a player
turns it (``np.rot90(rgb, info.rotation // 90)`` is what the viewer sees).
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from inpaint.errors import UserError
from inpaint.runtime.video.timestamps import TimestampRepair, repair_time_base

__all__ = ["ClipInfo", "ClipReader", "DecodedFrame", "open_container"]

_log = logging.getLogger(__name__)


#: frames of slack between where the video says it ends and where its packets end
END_SLACK_FRAMES = 2


@dataclass(frozen=True)
class ClipInfo:
    """What the encoder and the mask sources need to know about a clip.

    size: stored (H, W) of the frames. rotation: display rotation in degrees counter-clockwise
    (0, 90, 180, 270; from the display matrix). time_base: the repaired timestamps' time base.
    rate: average frame rate (None when unknown). frames_estimate: the header's frame count, or the
    duration times the rate; only an estimate (None when neither is known). duration: seconds or None.
    sample_aspect_ratio: of the pixels (None = square).
    """

    path: Path
    size: tuple[int, int]
    rotation: int
    time_base: Fraction
    rate: Fraction | None
    frames_estimate: int | None
    duration: float | None
    sample_aspect_ratio: Fraction | None = None
    #: where the video stream says it ends, seconds on the clip's clock (the mp4 track's start + duration,
    #: a Matroska track's DURATION tag); None when only the container's duration (spanning audio) is known
    video_end: float | None = None
    #: the first frame's colour description as FFmpeg numbers it (colorspace = matrix, color_range,
    #: color_primaries, color_trc); frames are converted to RGB with it and the output is tagged with it
    colour: dict = field(default_factory=dict)

    @property
    def display_size(self) -> tuple[int, int]:
        """(H, W) as a player shows the clip (swapped for 90 and 270 degrees)."""
        h, w = self.size
        return (w, h) if self.rotation % 180 else (h, w)


@dataclass
class DecodedFrame:
    """index: 0-based position in the clip. rgb: (H, W, 3) uint8 RGB, stored orientation.
    pts: repaired presentation time in ``ClipInfo.time_base`` ticks (strictly increasing)."""

    index: int
    rgb: np.ndarray
    pts: int


def open_container(path: Path, what: str = "clip"):
    """``av.open(path)`` with its failures turned into one UserError line."""
    import av

    try:
        return av.open(str(path))
    except FileNotFoundError as exc:
        raise UserError(f"{path}: no such {what} file") from exc
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the {what} ({_ffmpeg_reason(exc)}); is it a video file?") from exc


def _ffmpeg_reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).split(":")[0].strip() or type(exc).__name__


def _rgb(frame) -> np.ndarray:
    """(H, W, 3) uint8 RGB with the frame's own matrix and range (full-range phone clips stay full range)."""
    return frame.to_ndarray(format="rgb24", src_color_range=frame.color_range or None)


def _tag_seconds(text: str) -> float | None:
    """"HH:MM:SS.fraction" (Matroska's DURATION tag) -> seconds."""
    try:
        h, m, sec = text.split(":")
        return int(h) * 3600 + int(m) * 60 + float(sec)
    except (ValueError, AttributeError):
        return None


def _video_end(v, tb: Fraction) -> float | None:
    if v.duration:
        return float(((v.start_time or 0) + v.duration) * tb)
    tag = (v.metadata or {}).get("DURATION") or (v.metadata or {}).get("duration")
    return _tag_seconds(tag) if tag else None


def _rotation(stream, first_frame) -> int:
    """The display rotation, degrees counter-clockwise, rounded to a multiple of 90 (0..270)."""
    angle = getattr(first_frame, "rotation", 0) or 0
    return int(round(angle / 90.0)) * 90 % 360


class ClipReader:
    """One clip opened for decoding (a context manager). ``info`` is read when it opens.

    Raises UserError for a file that is missing or unreadable, has no video stream, or whose first
    frame cannot be decoded.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._container = open_container(self.path)
        try:
            self.info = self._probe()
        except BaseException:
            self._container.close()
            raise

    def _probe(self) -> ClipInfo:
        c = self._container
        if not c.streams.video:
            kinds = ", ".join(sorted({s.type for s in c.streams})) or "nothing"
            raise UserError(f"{self.path}: no video stream (it holds {kinds}); give a clip with video")
        v = c.streams.video[0]
        v.thread_type = "AUTO"  # frame + slice threads (must be set before the codec opens)
        tb = Fraction(v.time_base) if v.time_base else Fraction(1, 90000)
        out_tb, self._factor = repair_time_base(tb)
        rate = v.average_rate or v.guessed_rate or v.base_rate
        rate = Fraction(rate) if rate else None
        start = float((v.start_time or 0) * tb)
        video_end = _video_end(v, tb)
        if video_end is not None:
            duration = video_end - start
        else:
            duration = c.duration / 1e6 if c.duration else None
        estimate = v.frames or (int(round(duration * rate)) if duration and rate else None)
        first = self._first_frame(v)
        bits = max((c.bits for c in first.format.components), default=8)
        if bits > 8:
            _log.warning("%s: %d-bit video (%s) is inpainted and written as 8-bit", self.path, bits, first.format.name)
        sar = v.sample_aspect_ratio
        self._nominal = int(round(1 / (rate * out_tb))) if rate else None
        return ClipInfo(
            path=self.path, size=(first.height, first.width), rotation=_rotation(v, first), time_base=out_tb,
            rate=rate, frames_estimate=estimate, duration=duration, video_end=video_end,
            sample_aspect_ratio=Fraction(sar) if sar and sar != 1 else None,
            colour={k: int(getattr(first, k)) for k in ("colorspace", "color_range", "color_primaries", "color_trc")},
        )

    def _first_frame(self, v):
        """Decode the first frame (its size and rotation are the clip's), keep it for :meth:`frames`."""
        self._frames = self._decode(v)
        try:
            first = next(self._frames)
        except StopIteration:
            raise UserError(f"{self.path}: the video stream has no decodable frame") from None
        self._first = first
        return first

    def _decode(self, v) -> Iterator:
        import av

        index = 0
        packets = 0
        self.packet_end = None  # the latest packet end seen (pts + duration), seconds
        try:
            for packet in self._container.demux(v):
                if packet.size:
                    packets += 1
                    if packet.pts is not None and packet.time_base is not None:
                        end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                        self.packet_end = end if self.packet_end is None else max(self.packet_end, end)
                for frame in packet.decode():
                    index += 1
                    yield frame
        except av.error.FFmpegError as exc:
            raise UserError(
                f"{self.path}: frame {index} cannot be decoded ({_ffmpeg_reason(exc)}); the clip is damaged "
                "(re-download it, or cut the damaged part with ffmpeg)"
            ) from exc
        self.decoded, self.packets = index, packets

    def frames(self) -> Iterator[DecodedFrame]:
        """Every frame in display order, with repaired timestamps. Raises UserError for a damaged clip."""
        repair = TimestampRepair(nominal=self._nominal)
        held: deque = deque()  # the decoded frames in the repair window (as decoded: YUV, smaller than RGB)
        index = 0
        size = self.info.size
        first, self._first = self._first, None
        for frame in itertools.chain([first] if first is not None else [], self._frames):
            if (frame.height, frame.width) != size:
                raise UserError(
                    f"{self.path}: frame {index + len(held)} is {frame.width}x{frame.height}, the clip started "
                    f"at {size[1]}x{size[0]}; clips that change size mid-stream are not supported (split it first)"
                )
            if getattr(frame, "is_corrupt", False):
                _log.warning("%s: frame %d is flagged corrupt by the decoder; kept as decoded", self.path, index + len(held))
            held.append(frame)
            pts = None if frame.pts is None else int(frame.pts) * self._factor
            for t in repair.push(pts):
                yield DecodedFrame(index, _rgb(held.popleft()), t)
                index += 1
        for t in repair.finish():
            yield DecodedFrame(index, _rgb(held.popleft()), t)
            index += 1
        self._check_end(repair.step())
        if repair.repaired:
            _log.warning("%s: %d frame timestamp(s) were out of order, repeated or missing; repaired in order, "
                         "duration kept", self.path, repair.repaired)
        if getattr(self, "packets", 0) > getattr(self, "decoded", 0):
            _log.warning("%s: %d video packets but %d frames decoded; the decoder dropped damaged frames",
                         self.path, self.packets, self.decoded)

    def check_data_end(self) -> None:
        """Before any frame is processed: UserError when the container's index says the video goes on past the
        data the file holds (a download that stopped half way, with the mp4 index at the front). Demuxes from the
        last keyframe before the stated end, in a second handle (no decoding); the same test as after decoding.
        Nothing is checked when the stream states no end."""
        end = self.info.video_end
        if end is None or self.info.rate is None:
            return
        container = open_container(self.path)
        try:
            v = container.streams.video[0]
            tb = Fraction(v.time_base) if v.time_base else Fraction(1, 90000)
            seen = None
            try:
                container.seek(int((end - 1 / self.info.rate) / tb), stream=v, backward=True, any_frame=False)
                for packet in container.demux(v):
                    if packet.size and packet.pts is not None and packet.time_base is not None:
                        t = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                        seen = t if seen is None else max(seen, t)
            except Exception:  # noqa: BLE001  a seek into missing data: nothing found there
                pass
        finally:
            container.close()
        self._raise_if_short(end, 0.0 if seen is None else seen, float(1 / self.info.rate))

    def _check_end(self, step: int) -> None:
        """UserError when the video's packets end well before where the stream says it ends: the demuxer
        skipped damaged or missing data without an error, and the output would be silently shorter."""
        end, seen = self.info.video_end, getattr(self, "packet_end", None)
        if end is None or seen is None:
            return
        self._raise_if_short(end, seen, float(step * self.info.time_base))

    def _raise_if_short(self, end: float, seen: float, frame_seconds: float) -> None:
        slack = (END_SLACK_FRAMES + 1) * frame_seconds
        if seen < end - slack:
            raise UserError(
                f"{self.path}: its video data ends at {seen:.2f} s but the stream says {end:.2f} s (damaged or "
                "missing data was skipped); repair it (ffmpeg -i IN -c copy OUT) or cut the damaged part"
            )

    @property
    def nominal_duration(self) -> int | None:
        """One frame's duration at the average rate, in ``info.time_base`` ticks (None when unknown)."""
        return self._nominal

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> ClipReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
