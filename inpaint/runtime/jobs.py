"""Pair input images with masks and output paths (``inpaint run IMAGE MASK OUTPUT``), before anything runs.

IMAGE is a file or a folder, MASK a file or a folder, OUTPUT a file or a folder:

    IMAGE file   + MASK file    -> one job
    IMAGE file   + MASK folder  -> one job, the mask with the image's file stem
    IMAGE folder + MASK file    -> every image of the folder with that one mask
    IMAGE folder + MASK folder  -> every image with the mask of the same file stem (any supported extension)

A folder is listed non-recursively, sorted by name, keeping the files with a supported extension
(case-insensitive) and leaving out hidden files (names starting with '.', such as the temporary files
of an interrupted write). An image without a mask is not an error of the whole run: it is returned
in the list of failures, with the reason, for the caller to report.

OUTPUT is a folder when it is an existing folder, when it ends with '/', or when it has no
extension (it is created when written to); otherwise it names the output file, whose extension
chooses the format. In a folder, each result keeps its input's file name and so its format (a
single IMAGE whose extension cannot be written gets '.png'). When IMAGE is a folder OUTPUT must be a
folder. No output may be an input: that would overwrite the user's file, and is refused.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from inpaint.errors import UserError
from inpaint.runtime.io import SUPPORTED_EXTENSIONS

__all__ = ["SUPPORTED_EXTENSIONS", "Job", "list_images", "plan_jobs"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One image to inpaint: read ``image`` and ``mask`` (None: no mask file), write ``output``."""

    image: Path
    mask: Path | None
    output: Path


def _is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_EXTENSIONS


def list_images(folder: Path) -> list[Path]:
    """The image files directly in ``folder``: supported extension, not hidden, sorted by name."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and _is_supported(p)
    )


def _output_is_folder(output: str | Path) -> bool:
    """Decide whether OUTPUT names a folder (see the module docstring); UserError for a bad extension."""
    raw = os.fspath(output)
    path = Path(raw)
    separators = tuple(s for s in (os.sep, os.altsep) if s)
    if raw.endswith(separators) or path.is_dir():
        return True
    if _is_supported(path):
        return False
    if not path.suffix and not path.exists():
        return True
    names = ", ".join(e[1:] for e in SUPPORTED_EXTENSIONS)
    raise UserError(
        f"{path}: OUTPUT must end in one of {names} to name a file, or be a folder (end it with '/')"
    )


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def plan_jobs(
    image: str | Path,
    mask: str | Path,
    output: str | Path,
    *,
    skip_existing: bool = False,
) -> tuple[list[Job], list[tuple[Path, str]]]:
    """Pair every input image with its mask and output path.

    image: an image file or a folder of images. mask: a mask file or a folder of masks.
    output: the output file or folder; pass the user's string unchanged, since ``Path`` drops a
        trailing '/' (which marks a folder).
    skip_existing: leave out the jobs whose output file already exists (resume a stopped run).
    Returns (jobs, failures): failures are (image path, reason) for the images that have no mask.
    Raises UserError for a missing IMAGE or MASK, an empty IMAGE folder, a file OUTPUT for an IMAGE
    folder, an unsupported OUTPUT extension, or an output path that is an input file.
    """
    image_path, mask_path = Path(image), Path(mask)
    if not image_path.exists():
        raise UserError(f"{image_path}: no such image file or folder; give an image file or a folder of images")
    if not mask_path.exists():
        raise UserError(f"{mask_path}: no such mask file or folder; give a mask image (white = remove) or a folder")
    out_folder = _output_is_folder(output)
    out_path = Path(output)

    if image_path.is_dir():
        images = list_images(image_path)
        if not images:
            names = ", ".join(e[1:] for e in SUPPORTED_EXTENSIONS)
            raise UserError(f"{image_path}: no images ({names}) in this folder")
        if not out_folder:
            raise UserError(f"{out_path}: IMAGE is a folder, so OUTPUT must be a folder too (end it with '/')")
    else:
        images = [image_path]

    masks_by_stem: dict[str, list[Path]] | None = None
    if mask_path.is_dir():
        if image_path.is_dir() and _same_file(image_path, mask_path):
            raise UserError(f"{mask_path}: MASK is the IMAGE folder; put the masks in a folder of their own")
        masks_by_stem = {}
        for m in list_images(mask_path):
            masks_by_stem.setdefault(m.stem, []).append(m)

    jobs: list[Job] = []
    failures: list[tuple[Path, str]] = []
    for img in images:
        if masks_by_stem is None:
            job_mask = mask_path
        else:
            found = masks_by_stem.get(img.stem, [])
            if not found:
                failures.append((img, f"no mask named {img.stem}.* in {mask_path}"))
                continue
            if len(found) > 1:
                names = ", ".join(m.name for m in found)
                failures.append((img, f"several masks named {img.stem}.* in {mask_path} ({names}); keep one"))
                continue
            job_mask = found[0]
        if out_folder:
            name = img.name if _is_supported(img) else img.stem + ".png"
            job_output = out_path / name
        else:
            job_output = out_path
        for source in (img, job_mask):
            if _same_file(job_output, source):
                raise UserError(f"{job_output}: would overwrite the input {source}; choose another OUTPUT")
        jobs.append(Job(image=img, mask=job_mask, output=job_output))

    if skip_existing:
        kept = [job for job in jobs if not job.output.exists()]
        if len(kept) < len(jobs):
            _log.info("skipping %d image(s) whose output already exists", len(jobs) - len(kept))
        jobs = kept
    return jobs, failures
