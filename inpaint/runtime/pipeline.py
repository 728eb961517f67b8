"""The batch pipeline: load, group equal sizes into batches, pad, infer, crop, composite, save.

    report = run_pipeline(runner, ImageFiles(*plan_jobs(image, mask, out)), batch=4, on_done=callback)

Shared by every backend and every frame source. A bad input (unreadable image, missing mask, failed
write) fails only its own item: the reason is collected in :class:`Report` and the run goes on. Known
pixels of every result are bit-identical to the input (:func:`~inpaint.runtime.processing.composite`);
alpha, grey and 16-bit travel in the :class:`~inpaint.runtime.io.Picture` to the writer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from inpaint.errors import UserError
from inpaint.runtime.backends.base import Runner
from inpaint.runtime.io import Picture
from inpaint.runtime.processing import composite, crop, from_nchw, masks_to_nchw, pad_to_multiple, to_nchw
from inpaint.runtime.sources import FrameSource, Item

__all__ = ["Report", "inpaint_arrays", "submit_arrays", "run_pipeline"]

_log = logging.getLogger(__name__)

#: at most this many batches' worth of decoded pictures wait for a batch of their size to fill
PENDING_BATCHES = 4


def inpaint_arrays(runner: Runner, rgbs: Sequence[np.ndarray], holes: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Inpaint equal-size pictures in one ``runner.infer`` call.

    rgbs: each (H, W, 3) uint8 in [0, 255] or uint16 in [0, 65535], RGB. holes: each (H, W), non-zero = hole.
    The batch is reflect-padded to ``runner.stride``, run, cropped and composited.
    Returns one (H, W, 3) array per input with its dtype; known pixels are bit-identical to the input.
    """
    return submit_arrays(runner, rgbs, holes)()


def submit_arrays(runner: Runner, rgbs: Sequence[np.ndarray], holes: Sequence[np.ndarray]) -> Callable[[], list[np.ndarray]]:
    """:func:`inpaint_arrays` in two halves: pad and submit now (``runner.infer_async``), and return a function
    that waits for the batch, crops and composites. A pipeline submits the next batch before calling it, so a
    backend with its own streams (TensorRT) overlaps copies and compute across batches."""
    image, hw = pad_to_multiple(to_nchw(rgbs), runner.stride)
    mask, _ = pad_to_multiple(masks_to_nchw(holes), runner.stride)
    pending = runner.infer_async(image, mask)

    def finish() -> list[np.ndarray]:
        generated = from_nchw(crop(pending.result(), hw))
        return [composite(rgb, gen, np.asarray(hole) != 0) for rgb, gen, hole in zip(rgbs, generated, holes)]

    return finish


@dataclass
class Report:
    """What a run did. written: names of the saved items. failed: (name, reason), in the order they happened."""

    written: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def _reason(name: str, exc: BaseException) -> str:
    """One line; drops a leading 'name: ' that the error message already carries."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if not isinstance(exc, UserError):
        text = f"{type(exc).__name__}: {text}"
    prefix = f"{name}: "
    return text[len(prefix):] if text.startswith(prefix) else text


@dataclass
class _Loaded:
    item: Item
    picture: Picture
    hole: np.ndarray


def run_pipeline(
    runner: Runner,
    source: FrameSource,
    batch: int = 1,
    on_done: Callable[[str, bool], None] | None = None,
) -> Report:
    """Inpaint every item of ``source`` with an active ``runner``.

    batch: up to this many equal-size pictures per ``runner.infer`` call (>= 1). Items of one size keep
        their order (what a video source needs); items wait for a batch of their size to fill, at most
        ``PENDING_BATCHES * batch`` of them, then the oldest group runs.
    on_done: called as ``on_done(name, ok)`` once per item, for a progress bar.
    Returns a :class:`Report`; the source's own failures come first. Never raises for a bad item.
    """
    if batch < 1:
        raise UserError(f"--batch {batch}: must be 1 or more")
    report = Report(failed=list(source.failures))
    pending: dict[tuple[int, int], list[_Loaded]] = {}

    def finish(name: str, error: BaseException | None) -> None:
        if error is None:
            report.written.append(name)
        else:
            report.failed.append((name, _reason(name, error)))
            _log.debug("%s failed", name, exc_info=error)
        if on_done is not None:
            on_done(name, error is None)

    def save(entry: _Loaded, rgb: np.ndarray) -> None:
        result = Picture(rgb=rgb, alpha=entry.picture.alpha, grey=entry.picture.grey)
        try:
            entry.item.save(result)
        except Exception as exc:  # noqa: BLE001  one failed write fails one item
            finish(entry.item.name, exc)
        else:
            finish(entry.item.name, None)

    in_flight: list[tuple[list[_Loaded], Callable[[], list[np.ndarray]]]] = []  # the batch submitted last

    def run_alone(group: list[_Loaded], exc: BaseException) -> None:
        """A batch that failed: its pictures one at a time (e.g. out of memory), or the one picture's failure."""
        if len(group) == 1:
            finish(group[0].item.name, exc)
            return
        _log.warning("a batch of %d failed (%s); running its pictures one at a time", len(group), exc)
        for entry in group:
            try:
                (rgb,) = inpaint_arrays(runner, [entry.picture.rgb], [entry.hole])
            except Exception as one:  # noqa: BLE001
                finish(entry.item.name, one)
            else:
                save(entry, rgb)

    def complete(group: list[_Loaded], wait: Callable[[], list[np.ndarray]]) -> None:
        try:
            results = wait()
        except Exception as exc:  # noqa: BLE001
            run_alone(group, exc)
            return
        for entry, rgb in zip(group, results):
            save(entry, rgb)

    def drain() -> None:
        while in_flight:
            complete(*in_flight.pop(0))

    def flush(group: list[_Loaded]) -> None:
        """Submit ``group``, then save the batch submitted before it: one batch stays in flight, so a
        backend with its own streams computes it while this thread loads, pads and saves the others."""
        try:
            wait = submit_arrays(runner, [e.picture.rgb for e in group], [e.hole for e in group])
        except Exception as exc:  # noqa: BLE001
            drain()  # saves stay in submission order
            run_alone(group, exc)
            return
        previous, in_flight[:] = list(in_flight), [(group, wait)]
        for done in previous:
            complete(*done)

    for item in source:
        try:
            picture, hole = item.load()
        except Exception as exc:  # noqa: BLE001  a broken file fails one item
            finish(item.name, exc)
            continue
        group = pending.setdefault(picture.size, [])
        group.append(_Loaded(item, picture, hole))
        if len(group) >= batch:
            flush(pending.pop(picture.size))
        elif sum(len(g) for g in pending.values()) >= PENDING_BATCHES * batch:
            flush(pending.pop(next(iter(pending))))
    for size in list(pending):
        flush(pending.pop(size))
    drain()
    return report
