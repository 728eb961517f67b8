"""Training losses: the MADF losses (pixel, perceptual, style, TV) and the frozen VGG16 they use.

Imports torch; nothing here is needed at inference time.
"""

from __future__ import annotations

from inpaint.trainer.losses.madf import LossWeights, MADFLoss, gram_matrix, supervised_indices
from inpaint.trainer.losses.pixel import composite, hole_valid_l1, masked_l1, total_variation
from inpaint.trainer.losses.vgg import (
    VGG16Features,
    load_vgg16_weights,
    make_vgg16_features,
    save_vgg16_weights,
    vgg16_conv_layout,
    weights_input_space,
)

__all__ = [
    "LossWeights",
    "MADFLoss",
    "VGG16Features",
    "composite",
    "gram_matrix",
    "hole_valid_l1",
    "load_vgg16_weights",
    "make_vgg16_features",
    "masked_l1",
    "save_vgg16_weights",
    "supervised_indices",
    "total_variation",
    "vgg16_conv_layout",
    "weights_input_space",
]
