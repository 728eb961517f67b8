"""Progress of ``inpaint run``: a rich bar on a terminal, plain lines elsewhere.

Without a terminal (SLURM logs, ``> log.txt``, CI) a bar prints nothing until the end, so :class:`PlainProgress`
writes one line at most every :data:`PLAIN_EVERY_S` seconds instead::

    clip.mp4: 120/270 frames, 2.1 fps, eta 70 s

Both have the interface the command uses: ``add_task(description, total=, unit=)``, ``update(task, total=,
completed=)``, ``advance(task)``, and they are context managers.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

__all__ = ["PLAIN_EVERY_S", "PlainProgress", "progress"]

#: seconds between two plain progress lines (issue 22: "at most every 10 s")
PLAIN_EVERY_S = 10.0


def progress(stream=None):
    """A rich progress bar when ``stream`` (default stderr) is a terminal, else a :class:`PlainProgress`."""
    stream = sys.stderr if stream is None else stream
    if not (hasattr(stream, "isatty") and stream.isatty()):
        return PlainProgress(stream)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        """items (images, frames) per second."""

        def render(self, task):
            unit = task.fields.get("unit", "it")
            return Text(f"{task.speed:.1f} {unit}/s" if task.speed else "")

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(), TimeElapsedColumn(), TimeRemainingColumn())
    return Progress(*columns, console=Console(file=stream))


@dataclass
class _Task:
    description: str
    total: int | None
    unit: str
    completed: int = 0
    started: float = field(default_factory=time.monotonic)


class PlainProgress:
    """Plain progress lines, at most one every ``every`` seconds (the task that just advanced)."""

    _RATE_NAMES = {"frames": "fps"}

    def __init__(self, stream=None, every: float = PLAIN_EVERY_S, clock=time.monotonic):
        self.stream = sys.stderr if stream is None else stream
        self.every, self.clock = every, clock
        self.tasks: list[_Task] = []
        self._last = clock()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def add_task(self, description: str, total: int | None = None, unit: str = "items", **_) -> int:
        self.tasks.append(_Task(description, total, unit, started=self.clock()))
        return len(self.tasks) - 1

    def update(self, task: int, total: int | None = None, completed: int | None = None, **_) -> None:
        t = self.tasks[task]
        if total is not None:
            t.total = total
        if completed is not None:
            t.completed = completed

    def advance(self, task: int, amount: int = 1) -> None:
        t = self.tasks[task]
        t.completed += amount
        now = self.clock()
        if now - self._last >= self.every:
            self._last = now
            print(self.line(t, now), file=self.stream, flush=True)

    def line(self, t: _Task, now: float) -> str:
        """``name: 120/270 frames, 2.1 fps, eta 70 s`` (no total: ``name: 120 frames, 2.1 fps``)."""
        elapsed = max(now - t.started, 1e-9)
        rate = t.completed / elapsed
        done = f"{t.completed}/{t.total}" if t.total else f"{t.completed}"
        text = f"{t.description}: {done} {t.unit}, {rate:.1f} {self._RATE_NAMES.get(t.unit, t.unit + '/s')}"
        if t.total and rate > 0 and t.completed < t.total:
            text += f", eta {(t.total - t.completed) / rate:.0f} s"
        return text
