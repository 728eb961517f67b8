"""Pair input images and clips with masks and output paths (``inpaint run IMAGE MASK OUTPUT``), before anything runs.

IMAGE is a file or a folder (photos and clips may be mixed), MASK a file or a folder, OUTPUT a file or a folder:

    IMAGE file   + MASK file    -> one job
    IMAGE file   + MASK folder  -> one job, the mask with the image's file stem
    IMAGE folder + MASK file    -> every image of the folder with that one mask
    IMAGE folder + MASK folder  -> every image with the mask of the same file stem (any supported extension)

A clip's mask (:mod:`inpaint.runtime.video.masks`) is one image (every frame), a mask video, or a folder of
per-frame images numbered by frame (``00000.png``, ``00001.png``, ...; the last run of digits in the file
name is the frame number, counted from the smallest). In a MASK folder, a clip ``a.mp4`` takes ``a.png``
(static), ``a.mp4`` / ``a.mkv`` ... (a mask video) or the subfolder ``a/`` (per-frame masks); a single clip
with a MASK folder that holds nothing named after it takes the folder itself as its per-frame masks.

``shard=(K, N)`` keeps the K-th (1-based) of N equal, contiguous shares of the sorted inputs, before
anything else is decided, so that N machines given K = 1..N (a SLURM job array ``--array=1-N`` with
``$SLURM_ARRAY_TASK_ID``, a Kubernetes indexed job with ``$((JOB_COMPLETION_INDEX + 1))``) split a folder
with no coordination; ``skip_existing`` then makes a re-run finish what a stopped one left.

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
from inpaint.runtime.video.formats import VIDEO_EXTENSIONS, is_clip

__all__ = ["SUPPORTED_EXTENSIONS", "VIDEO_EXTENSIONS", "Job", "list_images", "list_inputs", "parse_shard", "plan_jobs"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One image to inpaint: read ``image`` and ``mask`` (None: no mask file), write ``output``."""

    image: Path
    mask: Path | None
    output: Path

    @property
    def is_clip(self) -> bool:
        """The input is a clip (by its suffix, see :data:`VIDEO_EXTENSIONS`)."""
        return is_clip(self.image)


def _is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_EXTENSIONS


def _is_input(path: Path) -> bool:
    return _is_supported(path) or is_clip(path)


def _visible_files(folder: Path, keep) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and keep(p))


def list_images(folder: Path) -> list[Path]:
    """The image files directly in ``folder``: supported extension, not hidden, sorted by name."""
    return _visible_files(folder, _is_supported)


def list_inputs(folder: Path) -> list[Path]:
    """The image and clip files directly in ``folder``: not hidden, sorted by name."""
    return _visible_files(folder, _is_input)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """"K/N" -> (K, N) with 1 <= K <= N; None -> None. UserError for anything else."""
    if text is None:
        return None
    parts = text.split("/")
    try:
        k, n = (int(p) for p in parts)
    except ValueError:
        k = n = 0
    if len(parts) != 2 or not 1 <= k <= n:
        raise UserError(f"--shard {text}: expected K/N with 1 <= K <= N (e.g. 1/4 ... 4/4)")
    return k, n


def shard_of(items: list, shard: tuple[int, int] | None) -> list:
    """The K-th of N contiguous shares of ``items``: items[(K-1)*len//N : K*len//N] (sizes differ by <= 1)."""
    if shard is None:
        return items
    k, n = shard
    return items[(k - 1) * len(items) // n : k * len(items) // n]


def _output_is_folder(output: str | Path) -> bool:
    """Decide whether OUTPUT names a folder (see the module docstring); UserError for a bad extension."""
    raw = os.fspath(output)
    path = Path(raw)
    separators = tuple(s for s in (os.sep, os.altsep) if s)
    if raw.endswith(separators) or path.is_dir():
        return True
    if _is_input(path):
        return False
    if not path.suffix and not path.exists():
        return True
    names = ", ".join(e[1:] for e in SUPPORTED_EXTENSIONS + VIDEO_EXTENSIONS)
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
    shard: tuple[int, int] | None = None,
) -> tuple[list[Job], list[tuple[Path, str]]]:
    """Pair every input image or clip with its mask and output path.

    image: an image or clip file, or a folder of them. mask: a mask file (image or mask video) or a folder.
    output: the output file or folder; pass the user's string unchanged, since ``Path`` drops a
        trailing '/' (which marks a folder).
    skip_existing: leave out the jobs whose output file already exists (resume a stopped run).
    shard: (K, N): only the K-th of N shares of the inputs (see the module docstring).
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
        images = list_inputs(image_path)
        if not images:
            names = ", ".join(e[1:] for e in SUPPORTED_EXTENSIONS + VIDEO_EXTENSIONS)
            raise UserError(f"{image_path}: no images or clips ({names}) in this folder")
        if not out_folder:
            raise UserError(f"{out_path}: IMAGE is a folder, so OUTPUT must be a folder too (end it with '/')")
    else:
        images = [image_path]

    images = shard_of(images, shard)

    masks_by_stem: dict[str, list[Path]] | None = None
    clip_masks_by_stem: dict[str, list[Path]] = {}
    if mask_path.is_dir():
        if image_path.is_dir() and _same_file(image_path, mask_path):
            raise UserError(f"{mask_path}: MASK is the IMAGE folder; put the masks in a folder of their own")
        masks_by_stem = {}
        for m in list_images(mask_path):
            masks_by_stem.setdefault(m.stem, []).append(m)
        if any(is_clip(p) for p in images):  # a clip's mask may also be a mask video or a folder
            for m in sorted(mask_path.iterdir()):
                if not m.name.startswith(".") and (m.is_dir() or (m.is_file() and is_clip(m))):
                    clip_masks_by_stem.setdefault(m.stem if m.is_file() else m.name, []).append(m)

    jobs: list[Job] = []
    failures: list[tuple[Path, str]] = []
    for img in images:
        if masks_by_stem is None:
            job_mask = mask_path
        else:
            found = masks_by_stem.get(img.stem, [])
            if is_clip(img):
                found = sorted(found + clip_masks_by_stem.get(img.stem, []))
                if not found and not image_path.is_dir():
                    found = [mask_path]  # one clip and a folder not named after it: its per-frame masks
            if not found:
                also = f" or folder {img.stem}/" if is_clip(img) else ""
                failures.append((img, f"no mask named {img.stem}.*{also} in {mask_path}"))
                continue
            if len(found) > 1:
                names = ", ".join(m.name for m in found)
                failures.append((img, f"several masks named {img.stem}.* in {mask_path} ({names}); keep one"))
                continue
            job_mask = found[0]
        if out_folder:
            name = img.name if _is_input(img) else img.stem + ".png"
            job_output = out_path / name
        else:
            job_output = out_path
            if is_clip(img) != is_clip(job_output):
                what = "a clip" if is_clip(img) else "an image"
                want = "mp4, mkv, mov, avi, webm" if is_clip(img) else "png, jpg, webp, bmp, tiff"
                raise UserError(f"{job_output}: {img.name} is {what}, so OUTPUT must end in one of {want}")
        for source in (img, job_mask):
            if _same_file(job_output, source):
                raise UserError(f"{job_output}: would overwrite the input {source}; choose another OUTPUT")
        jobs.append(Job(image=img, mask=job_mask, output=job_output))

    if skip_existing:
        kept = [job for job in jobs if not job.output.exists()]
        if len(kept) < len(jobs):
            _log.info("skipping %d image(s) / clip(s) whose output already exists", len(jobs) - len(kept))
        jobs = kept
    return jobs, failures
