"""Clips in, clips out: ``inpaint run clip.mp4 MASK -o out.mp4`` (PyAV; its wheels bundle FFmpeg).

Modules: ``formats`` (which suffixes are clips, the encoder per suffix), ``timestamps`` (repair into a
monotonic sequence), ``decoder`` (:class:`ClipReader`), ``masks`` (one image, a per-frame folder, a mask
video), ``encoder`` (:class:`ClipWriter`: frames, rotation, audio), ``flow`` (flow between neighbouring
frames, completed in the holes), ``propagate`` (``--video-mode propagate``, the default: holes filled from
the frames that show them), ``temporal`` (``--temporal``), ``flicker`` (the warping-error figure),
``quality`` (``inpaint eval --video``: every mode, against the clean clip), ``pipeline`` (:func:`run_clip`:
decode, infer and encode threads).
PyAV is imported when a clip is opened, not when this package is.
"""

from __future__ import annotations

from inpaint._lazy import lazy_attributes

__all__ = ["run_clip", "ClipResult", "ClipReader", "ClipWriter", "TemporalSteadier", "Propagator", "warping_error",
           "measure_modes", "is_clip", "VIDEO_EXTENSIONS", "VIDEO_MODES"]

_WHERE = {
    "run_clip": "inpaint.runtime.video.pipeline",
    "ClipResult": "inpaint.runtime.video.pipeline",
    "ClipReader": "inpaint.runtime.video.decoder",
    "ClipWriter": "inpaint.runtime.video.encoder",
    "TemporalSteadier": "inpaint.runtime.video.temporal",
    "Propagator": "inpaint.runtime.video.propagate",
    "measure_modes": "inpaint.runtime.video.quality",
    "VIDEO_MODES": "inpaint.runtime.video.pipeline",
    "warping_error": "inpaint.runtime.video.flicker",
    "is_clip": "inpaint.runtime.video.formats",
    "VIDEO_EXTENSIONS": "inpaint.runtime.video.formats",
}

__getattr__ = lazy_attributes(__name__, _WHERE)
