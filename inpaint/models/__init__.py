"""Models behind one interface (:class:`~inpaint.models.base.InpaintModel`) and a preset registry.

    >>> from inpaint.models import build_model
    >>> model = build_model("madf-t").eval()
    >>> out = model(image, mask)   # image (B,3,H,W) in [0,1], mask (B,1,H,W) 1 = hole
"""

from inpaint.models import madf as _madf  # noqa: F401  (registers the MADF presets)
from inpaint.models import mae as _mae  # noqa: F401  (registers the MAE presets)
from inpaint.models import far as _far  # noqa: F401  (registers the FAR presets)
from inpaint.models.base import InpaintModel
from inpaint.models.registry import build_model, list_models, model_from_config

__all__ = ["InpaintModel", "build_model", "list_models", "model_from_config"]
