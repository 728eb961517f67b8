"""``inpaint export --texture-stage -o texture.onnx``: the texture stage's step 1 as an ONNX graph.

    export_texture_onnx("texture.onnx", size=(256, 256), ops="plugin")    # one graph per window size

Inputs ``image`` (N, 3, H, W) float32 in [0, 1], ``mask`` (N, 1, H, W) float32 1 = hole, ``fill`` (N, 3, H, W)
the network's composited output; output ``textured`` (N, 3, H, W) (unclipped; composite and round as the
runtime does). N is dynamic; H and W are fixed at export (the cell and half-cell pooling windows follow from
them), multiples of 2 x the grid (64). ``ops="plugin"``: the paste is three ``inpaint::MaskedAttentionAggregate``
nodes (the TensorRT plugin / ONNX Runtime kernel FAR uses); ``"standard"``: their matrix-product form.
The values come from :mod:`inpaint.runtime.texture` (the NumPy stage the runtime runs), so both agree.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch

from inpaint import __version__
from inpaint._lazy import require
from inpaint.errors import UserError
from inpaint.export.onnx import MAX_IR_VERSION, save_checked
from inpaint.models.texture import TextureStage
from inpaint.ops.mode import export_mode

__all__ = ["build_texture_stage", "export_texture_onnx", "TEXTURE_INPUTS", "TEXTURE_OUTPUT"]

TEXTURE_INPUTS, TEXTURE_OUTPUT = ("image", "mask", "fill"), "textured"
#: the graph's opset (the dynamo exporter's lowest, as for the models)
OPSET = 18


def build_texture_stage(strength: float | None = None) -> TextureStage:
    """A :class:`~inpaint.models.texture.TextureStage` with the runtime's constants (strength: default STRENGTH)."""
    from inpaint.runtime.texture import aggregate as A
    from inpaint.runtime.texture import match as M
    from inpaint.runtime.texture import stage as S

    return TextureStage(strength=S.STRENGTH if strength is None else strength, sigma=S.LOWPASS_SIGMA, grid=M.TOKEN_GRID,
                        key_margin=M.KEY_MARGIN, energy_weight=M.ENERGY_WEIGHT, energy_floor=M.ENERGY_FLOOR,
                        tame_ratio=M.TAME_RATIO, coherence_rounds=M.COHERENCE_ROUNDS,
                        coherence_tolerance=M.COHERENCE_TOLERANCE, max_gain=A.MAX_GAIN).eval()


def export_texture_onnx(out: str | Path, *, size: tuple[int, int] = (256, 256), ops: str = "plugin",
                        strength: float | None = None) -> Path:
    """Write the stage for (H, W) = ``size`` to ``out`` atomically; returns the path. UserError for a bad size."""
    require("onnx")
    stage = build_texture_stage(strength)
    step = 2 * stage.grid
    if ops not in ("plugin", "standard"):
        raise UserError(f"--ops {ops}: choose plugin or standard")
    if size[0] % step or size[1] % step or min(size) <= 0:
        raise UserError(f"--size {size[1]}x{size[0]}: the texture graph needs H and W multiples of {step}")
    h, w = size
    g = torch.Generator().manual_seed(0)
    example = (torch.rand(2, 3, h, w, generator=g), (torch.rand(2, 1, h, w, generator=g) > 0.8).float(),
               torch.rand(2, 3, h, w, generator=g))
    batch = torch.export.Dim("batch", min=1, max=1024)
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    with torch.no_grad(), export_mode(custom_nodes=ops == "plugin"), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", UserWarning)
        program = torch.onnx.export(stage, example, dynamo=True, input_names=list(TEXTURE_INPUTS),
                                    output_names=[TEXTURE_OUTPUT], opset_version=OPSET, verbose=False,
                                    dynamic_shapes={"image": {0: batch}, "mask": {0: batch}, "fill": {0: batch}})
    proto = program.model_proto
    proto.ir_version = min(proto.ir_version, MAX_IR_VERSION)
    meta = {"inpaint.kind": "texture", "inpaint.ops": ops, "inpaint.size": f"{w}x{h}",
            "inpaint.texture.strength": str(stage.strength), "inpaint.texture.grid": str(stage.grid),
            "inpaint.mask_convention": "1=hole", "inpaint.version": __version__,
            "inpaint.custom_ops": ",".join(sorted({n.op_type for n in proto.graph.node if n.domain == "inpaint"}))}
    return save_checked(proto, meta, out)
