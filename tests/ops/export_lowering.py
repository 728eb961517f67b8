"""Shared by the export-lowering tests: a one-input module through ``torch.onnx.export`` in standard export mode."""

import warnings

import torch

from inpaint.ops.mode import export_mode


def export_standard(model: torch.nn.Module, x: torch.Tensor, batch_dynamic: bool, min_side: int):
    """The ``onnx.ModelProto`` of ``model(x)`` (input "x", output "y") with dynamic H, W (and N if ``batch_dynamic``)."""
    dim = torch.export.Dim
    axes = {2: dim("h", min=min_side, max=4096), 3: dim("w", min=min_side, max=4096)}
    if batch_dynamic:
        axes[0] = dim("n", min=1, max=64)
    with export_mode(custom_nodes=False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(model, (x,), dynamo=True, input_names=["x"], output_names=["y"], dynamic_shapes={"x": axes}, verbose=False)
    proto = program.model_proto
    proto.ir_version = min(proto.ir_version, 10)
    return proto
