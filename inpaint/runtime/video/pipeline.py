"""One clip through the network: decode -> inference -> (steadying) -> encode, in three threads.

    result = run_clip(runner, "clip.mp4", "mask.png", "out.mp4", batch=4, mode="propagate")

    decode thread     ClipReader.frames() + the frame's hole   -> queue (2 x batch frames)
    this thread       mode "frames" / "temporal": batches of up to ``batch`` frames, ``inpaint_arrays``
                      on those with a hole; mode "propagate": the :class:`Propagator` window, then
                      ``inpaint_arrays`` on the frames whose hole propagation left partly empty
                                                                -> queue (2 x batch frames)
    encode thread     TemporalSteadier (mode "temporal"), ClipWriter.write

Modes (:data:`VIDEO_MODES`): "frames" fills each frame on its own; "temporal" also steadies the fill
along the flow (:mod:`inpaint.runtime.video.temporal`); "propagate" (what ``inpaint run`` does for clips)
takes each hole pixel from the frames that show it (:mod:`inpaint.runtime.video.propagate`) and runs the
network only on the pixels none shows, one frame at a time (each frame's output is carried into the
next, so ``batch`` does not group frames there).

The queues are bounded, so memory does not grow with the clip's length: at most ~5 x batch frames plus
the timestamp repair window (16 frames, kept as decoded YUV) are in flight, plus, in mode "propagate",
its window (``2 * REACH + 1`` frames and their flows). PyAV's decoding, encoding
and swscale and ONNX Runtime release the GIL, so the three stages overlap.

Frames whose hole is empty are not run through the network: the decoded frame goes to the encoder as
it is. They are left out here, before batching (``inpaint_arrays`` would also return them unchanged),
so that every batch is made of frames that need the network and ``ClipResult.inferred`` counts them.

The output is written to a hidden temporary name beside OUTPUT and renamed onto it only when the whole
clip is done: a failure or an interruption leaves no half file, and an existing OUTPUT untouched.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inpaint._atomic import atomic_path
from inpaint.errors import UserError
from inpaint.runtime.backends.base import Runner
from inpaint.runtime.pipeline import forget_said, inpaint_arrays
from inpaint.runtime.processing import dilate_mask
from inpaint.runtime.video.decoder import ClipReader, DecodedFrame
from inpaint.runtime.video.encoder import ClipWriter
from inpaint.runtime.video.masks import open_masks
from inpaint.runtime.video.temporal import TemporalSteadier

__all__ = ["ClipResult", "run_clip", "QUEUE_BATCHES", "VIDEO_MODES", "check_mode"]

#: how a clip's holes are filled (see the module's docstring); the first is what ``inpaint run`` uses
VIDEO_MODES = ("propagate", "temporal", "frames")

_log = logging.getLogger(__name__)

#: each queue between two stages holds this many batches of frames
QUEUE_BATCHES = 2
_END = object()


@dataclass
class ClipResult:
    """frames: written. inferred: of them, run through the network (the others had an empty hole).
    seconds: wall time of the clip; infer_seconds: of it, inside ``inpaint_arrays``.
    temporal: what ``--temporal`` did per frame (see :class:`TemporalSteadier`).
    propagation: mode "propagate": hole pixels taken from other frames ("seen"), carried from the
    previous output ("carried"), left to the network ("model"), and scene cuts ("cuts")."""

    output: Path
    frames: int = 0
    inferred: int = 0
    seconds: float = 0.0
    infer_seconds: float = 0.0
    temporal: dict[str, int] = field(default_factory=dict)
    propagation: dict[str, int] = field(default_factory=dict)


def check_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`VIDEO_MODES`, else a UserError naming them."""
    if mode not in VIDEO_MODES:
        raise UserError(f"--video-mode {mode}: use one of {', '.join(VIDEO_MODES)}")
    return mode


@dataclass
class _Work:
    frame: DecodedFrame
    hole: np.ndarray
    result: np.ndarray | None = None


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


def _put(q: queue.Queue, item, stop: threading.Event) -> bool:
    """Put, waiting while the queue is full, unless ``stop`` is set (then False)."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue, stop: threading.Event):
    while True:
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            if stop.is_set():
                return _END


def run_clip(
    runner: Runner,
    clip: str | Path,
    mask: str | Path,
    output: str | Path,
    *,
    batch: int = 1,
    codec: str | None = None,
    crf: int | None = None,
    preset: str | None = None,
    temporal: bool = False,
    mode: str | None = None,
    hold_last: bool = False,
    force_mask: bool = False,
    infer_options: dict | None = None,
    on_start: Callable[[int | None], None] | None = None,
    on_frame: Callable[[], None] | None = None,
    frame_hook: Callable[[int, np.ndarray, np.ndarray, np.ndarray], None] | None = None,
) -> ClipResult:
    """Inpaint every frame of ``clip`` with an active ``runner`` and write ``output``.

    mask: an image, a folder of per-frame images or a mask video (:mod:`inpaint.runtime.video.masks`).
    batch: frames per ``runner.infer`` call (>= 1). codec / crf / preset: the encoder
        (:mod:`inpaint.runtime.video.formats`; None = defaults). mode: one of :data:`VIDEO_MODES`
        (None: "temporal" when ``temporal`` is set, else "frames"). temporal: the same as mode "temporal"
        (kept for callers of the earlier signature). hold_last: keep the last mask when the masks run out.
    force_mask: use mask images that look swapped with the clip (:mod:`inpaint.runtime.mask_checks`).
    infer_options: keyword arguments passed to ``inpaint_arrays`` (``strategy``, ``dilate``).
    on_start(frames_estimate): once, before the first frame. on_frame(): after each written frame.
    frame_hook(index, input_rgb, output_rgb, hole): each frame just before it is encoded (tests, metrics).
    Raises UserError for a bad clip / mask / codec; then nothing is written.
    """
    if batch < 1:
        raise UserError(f"--batch {batch}: must be 1 or more")
    mode = check_mode(mode or ("temporal" if temporal else "frames"))
    if temporal and mode != "temporal":
        raise UserError(f"--temporal with --video-mode {mode}: give one of them")
    started = time.perf_counter()
    forget_said()  # -v says each decision once per clip
    output = Path(output)
    options = dict(infer_options or {})
    result = ClipResult(output=output)
    with ClipReader(clip) as reader:
        reader.check_data_end()  # a truncated download: say so before the work, not after it
        masks = open_masks(Path(mask), reader.info, hold_last=hold_last, force=force_mask)
        try:
            with atomic_path(output) as tmp:
                writer = ClipWriter(tmp, reader.info, codec=codec, crf=crf, preset=preset, name=str(output))
                if on_start is not None:
                    on_start(reader.info.frames_estimate)
                _run_threads(runner, reader, masks, writer, batch, mode, options, on_frame, frame_hook, result)
        finally:
            masks.close()
    result.seconds = time.perf_counter() - started
    return result


def _run_threads(runner, reader, masks, writer, batch, mode, options, on_frame, frame_hook, result) -> None:
    size = QUEUE_BATCHES * batch
    decoded: queue.Queue = queue.Queue(maxsize=size)
    inferred: queue.Queue = queue.Queue(maxsize=size)
    stop = threading.Event()
    errors: list[BaseException] = []
    steadier = TemporalSteadier() if mode == "temporal" else None
    grow = int(options.get("dilate") or 0)  # the hole inpaint_arrays changed, for the steadier

    def decode() -> None:
        try:
            for frame in reader.frames():
                if not _put(decoded, _Work(frame, masks.hole(frame.index)), stop):
                    return
            _put(decoded, _END, stop)
        except BaseException as exc:  # noqa: BLE001  handed to the main thread
            _put(decoded, _Failed(exc), stop)

    def encode() -> None:
        try:
            while True:
                work = _get(inferred, stop)
                if work is _END or stop.is_set():
                    break
                out = work.result
                if steadier is not None:
                    changed = dilate_mask(work.hole, grow) if grow and work.hole.any() else work.hole
                    out = steadier.step(work.frame.rgb, out, changed)
                if frame_hook is not None:
                    frame_hook(work.frame.index, work.frame.rgb, out, work.hole)
                writer.write(out, work.frame.pts, duration=reader.nominal_duration)
                result.frames += 1
                if on_frame is not None:
                    on_frame()
            if not stop.is_set():
                writer.close()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=decode, name="inpaint-decode", daemon=True),
               threading.Thread(target=encode, name="inpaint-encode", daemon=True)]
    for t in threads:
        t.start()
    try:
        if mode == "propagate":
            _propagate(runner, decoded, inferred, stop, options, result)
        done = mode == "propagate"
        while not done and not stop.is_set():
            chunk: list[_Work] = []
            while len(chunk) < batch:
                item = _get(decoded, stop)
                if isinstance(item, _Failed):
                    raise item.exc
                if item is _END:
                    done = True
                    break
                chunk.append(item)
            todo = [w for w in chunk if w.hole.any()]
            if todo:
                t0 = time.perf_counter()
                outs = inpaint_arrays(runner, [w.frame.rgb for w in todo], [w.hole for w in todo], **options)
                result.infer_seconds += time.perf_counter() - t0
                result.inferred += len(todo)
                for w, out in zip(todo, outs):
                    w.result = out
            for w in chunk:
                if w.result is None:
                    w.result = w.frame.rgb  # empty hole: the decoded frame as it is
                if not _put(inferred, w, stop):
                    break
        _put(inferred, _END, stop)
    except BaseException:
        stop.set()
        raise
    finally:
        for t in threads:
            t.join(timeout=None if not stop.is_set() else 30)
        if steadier is not None:
            result.temporal = dict(steadier.decisions)
        if stop.is_set() or errors:
            writer.abort()
    if errors:
        raise errors[0]


def _propagate(runner, decoded: queue.Queue, inferred: queue.Queue, stop: threading.Event, options: dict,
               result: ClipResult) -> None:
    """Mode "propagate" in the main thread: frames into the window as they are decoded, each one out once
    ``REACH`` later frames are in (or the clip ended), the network on what propagation left."""
    from inpaint.runtime.video.propagate import Propagator

    grow = int(options.get("dilate") or 0)
    model_options = {**options, "dilate": 0}  # the window already holds the grown holes
    window = Propagator()

    def drain(final: bool) -> bool:
        while window.pending(final):
            fill = window.fill()
            out = fill.image
            if fill.rest.any():
                t0 = time.perf_counter()
                out = inpaint_arrays(runner, [fill.image], [fill.rest], **model_options)[0]
                result.infer_seconds += time.perf_counter() - t0
                result.inferred += 1
            window.commit(out)
            work = fill.payload
            work.result = out
            if not _put(inferred, work, stop):
                return False
        return True

    while not stop.is_set():
        item = _get(decoded, stop)
        if isinstance(item, _Failed):
            raise item.exc
        if item is _END:
            drain(final=True)
            break
        hole = dilate_mask(item.hole, grow) if grow and item.hole.any() else item.hole
        window.add(item.frame.rgb, hole, item)
        if not drain(final=False):
            break
    result.propagation = dict(window.stats)
