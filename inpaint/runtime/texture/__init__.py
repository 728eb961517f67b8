"""The texture stage (``--texture``): real texture from the known part of the picture in every fill.

Modules: :mod:`.match` (which known cell lends its texture to each hole cell, on the network's fill),
:mod:`.aggregate` (the ``MaskedAttentionAggregate`` operator's algebra for those matches, at any resolution,
variance-preserving), :mod:`.stage` (step 1 at the working size, step 2 at full resolution). The strategies
(:mod:`inpaint.runtime.strategies`) call it for every picture, window and video frame, whatever the engine.

``--texture on`` (default) copies texture at :data:`.stage.STRENGTH`; ``off`` gives the network's fill
alone; a number in [0, 2] sets the strength (0 = off, 1 = as strong as in the photo).
"""

from __future__ import annotations

from inpaint.errors import UserError
from inpaint.runtime.texture.stage import STRENGTH

__all__ = ["TEXTURE_HELP", "check_texture", "MAX_STRENGTH"]

#: the largest strength accepted: twice the photo's own texture amplitude is already visibly too much
MAX_STRENGTH = 2.0

TEXTURE_HELP = (f"Texture from the photo's known region in the fill: on (strength {STRENGTH}), off (the network's "
                f"fill alone, as before), or a strength 0-{MAX_STRENGTH:g} (1 = as strong as in the photo).")


def check_texture(value: str | float | bool | None) -> float:
    """The strength for a ``--texture`` value: "on" / True / None -> STRENGTH, "off" / False -> 0, a number in [0, 2]."""
    if value is None or value is True or (isinstance(value, str) and value.lower() in ("on", "auto", "default")):
        return STRENGTH
    if value is False or (isinstance(value, str) and value.lower() == "off"):
        return 0.0
    try:
        strength = float(value)
    except (TypeError, ValueError):
        raise UserError(f"--texture {value}: use on, off or a strength from 0 to {MAX_STRENGTH:g}") from None
    if not 0.0 <= strength <= MAX_STRENGTH:
        raise UserError(f"--texture {value}: the strength must lie in 0-{MAX_STRENGTH:g} (1 = the photo's own amplitude)")
    return strength
