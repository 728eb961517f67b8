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
from inpaint.runtime.processing import dilate_mask
from inpaint.runtime.strategies import check_strategy, working_size
from inpaint.runtime.strategies.choose import choose
from inpaint.runtime.strategies.crop import inpaint_crop
from inpaint.runtime.strategies.full import submit_full
from inpaint.runtime.strategies.memory import available_mb
from inpaint.runtime.strategies.resize import inpaint_resize
from inpaint.runtime.strategies.windows import Plan
from inpaint.runtime.sources import FrameSource, Item
from inpaint.runtime.texture import check_texture

__all__ = ["Report", "Submitted", "inpaint_arrays", "submit_arrays", "run_pipeline"]

_log = logging.getLogger(__name__)

#: at most this many batches' worth of decoded pictures wait for a batch of their size to fill
PENDING_BATCHES = 4


def inpaint_arrays(runner: Runner, rgbs: Sequence[np.ndarray], holes: Sequence[np.ndarray], *,
                   strategy: str = "auto", dilate: int = 0, texture: str | float = "on") -> list[np.ndarray]:
    """Inpaint equal-size pictures with one strategy (:mod:`inpaint.runtime.strategies`).

    rgbs: each (H, W, 3) uint8 in [0, 255] or uint16 in [0, 65535], RGB. holes: each (H, W), non-zero = hole.
    strategy: "auto" (chosen per picture, see :func:`~inpaint.runtime.strategies.choose.choose`) | "crop"
        (windows around the holes at the working size; crop windows of equal size from all pictures run as
        one batch) | "resize" (the whole picture at the working size) | "full" (native resolution; UserError
        naming ``crop`` when its memory estimate exceeds the memory available).
    dilate: grow every hole by this many pixels first (a square of side 2 * dilate + 1), >= 0.
    texture: "on" (default) | "off" | a strength in [0, 2]: texture from the picture's known region in the
        fill (:mod:`inpaint.runtime.texture`), for every strategy.
    A picture whose hole is empty (after dilation) comes back as a copy without running the network.
    Returns one (H, W, 3) array per input with its dtype; known pixels are bit-identical to the input.
    """
    return submit_arrays(runner, rgbs, holes, strategy=strategy, dilate=dilate, texture=texture).result()


class Submitted:
    """Pictures on their way through :func:`submit_arrays`. ``result()`` waits and returns the list of
    results; ``in_flight`` is True while a backend still computes part of it (``runner.infer_async``)."""

    def __init__(self, results: list[np.ndarray | None], waits: list[Callable[[], None]]):
        self._results, self._waits = results, waits

    @property
    def in_flight(self) -> bool:
        return bool(self._waits)

    def result(self) -> list[np.ndarray]:
        while self._waits:
            self._waits.pop(0)()
        return self._results  # type: ignore[return-value]


def submit_arrays(runner: Runner, rgbs: Sequence[np.ndarray], holes: Sequence[np.ndarray], *,
                  strategy: str = "auto", dilate: int = 0, texture: str | float = "on") -> Submitted:
    """:func:`inpaint_arrays` in two halves: plan and submit now, collect with ``.result()``.

    Pictures that run at native resolution (``full``, what ``auto`` takes for pictures up to about twice
    the working size) go to ``runner.infer_async`` as one batch and are composited in ``result()``; a
    pipeline submits the next batch before collecting this one, so that a backend with its own streams
    (TensorRT) overlaps host/device copies with compute across batches. ``crop`` and ``resize`` run their
    windows here, synchronously. Arguments as for :func:`inpaint_arrays`.
    """
    check_strategy(strategy)
    strength = check_texture(texture)
    if dilate < 0:
        raise UserError(f"--dilate {dilate}: must be 0 or more pixels")
    if len(rgbs) != len(holes):
        raise ValueError(f"{len(rgbs)} pictures but {len(holes)} holes")
    masks = [h if h.dtype == np.bool_ else h != 0 for h in map(np.asarray, holes)]
    if dilate:
        masks = [dilate_mask(h, dilate) for h in masks]
    results: list[np.ndarray | None] = [None] * len(rgbs)
    waits: list[Callable[[], None]] = []
    chosen: dict[str, list[int]] = {}
    plans: dict[int, Plan | None] = {}  # crop plans that auto made to decide
    available = available_mb() if strategy in ("auto", "full") else None
    for i, (rgb, hole) in enumerate(zip(rgbs, masks)):
        if not hole.any():
            results[i] = np.array(rgb, copy=True)
            continue
        name = strategy
        if strategy == "auto":
            name, plans[i] = choose(runner, hole, available)
        chosen.setdefault(name, []).append(i)
    for name, idx in chosen.items():
        sub_rgbs, sub_holes = [rgbs[i] for i in idx], [masks[i] for i in idx]
        h, w = sub_holes[0].shape
        if name == "full":
            wait = submit_full(runner, sub_rgbs, sub_holes, available, strength)
            _debug_once("%dx%d: strategy full, %d picture(s) at native resolution", w, h, len(idx))

            def collect(idx=idx, wait=wait) -> None:
                for i, out in zip(idx, wait()):
                    results[i] = out

            waits.append(collect)
            continue
        if name == "resize":
            outs = inpaint_resize(runner, sub_rgbs, sub_holes, texture=strength)
            _debug_once("%dx%d: strategy resize, %d picture(s) at long side %d", w, h, len(idx), working_size(runner))
        else:
            outs, counts = inpaint_crop(runner, sub_rgbs, sub_holes, plans=[plans.get(i) for i in idx], texture=strength)
            _debug_once("%dx%d: strategy crop, %s window(s) of at most %d px", w, h,
                        "+".join(map(str, counts)), working_size(runner))
        for i, out in zip(idx, outs):
            results[i] = out
    return Submitted(results, waits)


#: messages ``-v`` has printed (a clip's frames repeat the same decision; it is said once)
_SAID: set[str] = set()
#: bound on :data:`_SAID` (a folder of many sizes): then it starts afresh
_SAID_MAX = 1024


def forget_said() -> None:
    """Start a run: what ``-v`` said before may be said again."""
    _SAID.clear()


def _debug_once(msg: str, *args) -> None:
    """``_log.debug(msg, *args)`` the first time this exact text comes up."""
    if not _log.isEnabledFor(logging.DEBUG):
        return
    text = msg % args
    if text in _SAID:
        return
    if len(_SAID) >= _SAID_MAX:
        _SAID.clear()
    _SAID.add(text)
    _log.debug(text)


@dataclass
class Report:
    """What a run did. written: names of the saved items. failed: (name, reason), in the order they happened.
    bad_input: name -> the UserError of the items in ``failed`` whose failure was the user's input (unreadable,
    no mask)."""

    written: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    bad_input: dict[str, UserError] = field(default_factory=dict)

    def fail(self, name: str, exc: BaseException) -> None:
        """Record ``name`` as failed by ``exc`` (one line, see :func:`_reason`)."""
        self.failed.append((name, _reason(name, exc)))
        if isinstance(exc, UserError):
            self.bad_input[name] = exc

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
    """A loaded item waiting for its batch. rgb / hole are dropped (None) as soon as its result exists,
    so that a large photo is not held twice while its result is encoded."""

    item: Item
    rgb: np.ndarray | None
    hole: np.ndarray | None
    alpha: np.ndarray | None
    grey: bool

    @classmethod
    def load(cls, item: Item) -> _Loaded:
        picture, hole = item.load()
        return cls(item, picture.rgb, hole, picture.alpha, picture.grey)


def run_pipeline(
    runner: Runner,
    source: FrameSource,
    batch: int = 1,
    on_done: Callable[[str, bool], None] | None = None,
    *,
    strategy: str = "auto",
    dilate: int = 0,
    texture: str | float = "on",
    report: Report | None = None,
) -> Report:
    """Inpaint every item of ``source`` with an active ``runner``.

    batch: up to this many equal-size pictures per ``runner.infer`` call (>= 1). Items of one size keep
        their order (what a video source needs); items wait for a batch of their size to fill, at most
        ``PENDING_BATCHES * batch`` of them, then the oldest group runs.
    on_done: called as ``on_done(name, ok)`` once per item, for a progress bar.
    strategy, dilate, texture: as for :func:`inpaint_arrays` (checked before anything is loaded).
    report: filled in as items finish (the caller still has it when a stop signal ends the run), else a new one.
    Returns the :class:`Report`; the source's own failures come first. Never raises for a bad item.
    """
    if batch < 1:
        raise UserError(f"--batch {batch}: must be 1 or more")
    check_strategy(strategy)
    check_texture(texture)
    if dilate < 0:
        raise UserError(f"--dilate {dilate}: must be 0 or more pixels")
    forget_said()  # -v says each decision once per run
    report = Report() if report is None else report
    for name, reason in source.failures:  # no mask for it
        report.fail(name, UserError(f"{name}: {reason}"))
    pending: dict[tuple[int, int], list[_Loaded]] = {}

    def finish(name: str, error: BaseException | None) -> None:
        if error is None:
            report.written.append(name)
        else:
            report.fail(name, error)
            _log.debug("%s failed", name, exc_info=error)
        if on_done is not None:
            on_done(name, error is None)

    def save(entry: _Loaded, rgb: np.ndarray) -> None:
        result = Picture(rgb=rgb, alpha=entry.alpha, grey=entry.grey)
        try:
            entry.item.save(result)
        except Exception as exc:  # noqa: BLE001  one failed write fails one item
            finish(entry.item.name, exc)
        else:
            finish(entry.item.name, None)

    in_flight: list[tuple[list[_Loaded], Submitted]] = []  # at most the one batch submitted last

    def run_alone(group: list[_Loaded], exc: BaseException) -> None:
        """A batch that failed: its pictures one at a time (e.g. out of memory), or the one picture's failure."""
        if len(group) == 1:
            finish(group[0].item.name, exc)
            return
        _log.warning("a batch of %d failed (%s); running its pictures one at a time", len(group), exc)
        for entry in group:
            try:
                (rgb,) = inpaint_arrays(runner, [entry.rgb], [entry.hole], strategy=strategy, dilate=dilate, texture=texture)
            except Exception as one:  # noqa: BLE001
                finish(entry.item.name, one)
            else:
                entry.rgb = entry.hole = None
                save(entry, rgb)

    def complete(group: list[_Loaded], submitted: Submitted) -> None:
        try:
            results = submitted.result()
        except Exception as exc:  # noqa: BLE001
            run_alone(group, exc)
            return
        for entry in group:
            entry.rgb = entry.hole = None
        for entry, rgb in zip(group, results):
            save(entry, rgb)

    def drain() -> None:
        while in_flight:
            complete(*in_flight.pop(0))

    def flush(group: list[_Loaded]) -> None:
        """Submit ``group``, then save the batch submitted before it: one batch stays in flight, so a
        backend with its own streams computes it while this thread loads, pads and saves the others.
        A batch that is already done (crop / resize run synchronously) is saved at once, so that a large
        photo is not held while the next one loads."""
        try:
            submitted = submit_arrays(runner, [e.rgb for e in group], [e.hole for e in group],
                                      strategy=strategy, dilate=dilate, texture=texture)
        except Exception as exc:  # noqa: BLE001
            drain()  # saves stay in submission order
            run_alone(group, exc)
            return
        previous, in_flight[:] = list(in_flight), [(group, submitted)]
        for done in previous:
            complete(*done)
        if not submitted.in_flight:
            drain()

    for item in source:
        try:
            loaded = _Loaded.load(item)
        except Exception as exc:  # noqa: BLE001  a broken file fails one item
            finish(item.name, exc)
            continue
        size = loaded.rgb.shape[:2]
        pending.setdefault(size, []).append(loaded)
        del loaded  # only ``pending`` holds the picture, so that flush can free it
        if len(pending[size]) >= batch:
            flush(pending.pop(size))
        elif sum(len(g) for g in pending.values()) >= PENDING_BATCHES * batch:
            flush(pending.pop(next(iter(pending))))
    for size in list(pending):
        flush(pending.pop(size))
    drain()
    return report
