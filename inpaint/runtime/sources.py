"""Frame sources: where the pictures of a run come from and where each result goes.

The pipeline (:mod:`inpaint.runtime.pipeline`) sees only :class:`Item` objects, each able to load its
picture and hole mask and to save its result; it never opens a file itself. Image files are one source
(:class:`ImageFiles`); a video source (frames of one file, written to one output) plugs in the same way:
a :class:`FrameSource` subclass whose items load frames and save into its writer, in order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inpaint.errors import UserError
from inpaint.runtime.io import Picture, read_image, read_mask, write_image
from inpaint.runtime.jobs import Job

__all__ = ["Item", "FrameSource", "ImageFiles"]


@dataclass(frozen=True)
class Item:
    """One picture to inpaint.

    name: how messages name it (the image path, or "clip.mp4 frame 12").
    load: () -> (picture, hole): a :class:`~inpaint.runtime.io.Picture` and its hole mask,
        (H, W) bool with True = hole, the picture's size. Raises UserError for a bad input.
    save: (result picture) -> None: stores the result (atomically for files). Raises UserError.
    """

    name: str
    load: Callable[[], tuple[Picture, np.ndarray]]
    save: Callable[[Picture], None]


class FrameSource(ABC):
    """An ordered collection of items, plus the inputs already known to have failed before loading."""

    @abstractmethod
    def __iter__(self) -> Iterator[Item]:
        """The items, in order."""

    @abstractmethod
    def __len__(self) -> int:
        """How many items ``__iter__`` yields (for a progress bar)."""

    @property
    def failures(self) -> list[tuple[str, str]]:
        """(name, reason) of inputs that cannot run at all (e.g. an image without a mask)."""
        return []


def _load_job(job: Job, force: bool = False) -> tuple[Picture, np.ndarray]:
    if job.mask is None:
        raise UserError(f"{job.image}: no mask for this image; give a mask file or a folder with a mask of the same name")
    picture = read_image(job.image)
    return picture, read_mask(job.mask, size=picture.size, picture=job.image, force=force)


def _save_job(job: Job, picture: Picture, quality: int | None = None) -> None:
    write_image(job.output, picture, quality)


class ImageFiles(FrameSource):
    """Image files planned by :func:`inpaint.runtime.jobs.plan_jobs`: read each image and mask, write its output.

    jobs: the planned jobs. failures: the planner's (image path, reason) list, reported with the run's.
    force_mask: use masks that look swapped with their photo (:func:`inpaint.runtime.mask_checks.check_plausible`).
    quality: jpg / webp output quality 1-100 (None: jpg 95, webp lossless).
    """

    def __init__(self, jobs: Sequence[Job], failures: Sequence[tuple[Path, str]] = (), force_mask: bool = False,
                 quality: int | None = None):
        self.jobs = list(jobs)
        self.force_mask, self.quality = force_mask, quality
        self._failures = [(str(path), reason) for path, reason in failures]

    def __iter__(self) -> Iterator[Item]:
        for job in self.jobs:
            yield Item(
                name=str(job.image),
                load=lambda job=job: _load_job(job, self.force_mask),
                save=lambda picture, job=job: _save_job(job, picture, self.quality),
            )

    def __len__(self) -> int:
        return len(self.jobs)

    @property
    def failures(self) -> list[tuple[str, str]]:
        return list(self._failures)
