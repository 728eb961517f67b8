"""FAR through ``inpaint export`` and ``inpaint run`` as MADF goes: ONE ONNX graph holding the MAE and the ACR,
verified against PyTorch; the plugin graph has the two MaskedAttentionAggregate nodes and no DFT node.
(The standard-op variant is in test_far_export_standard.py, to keep each file short on a 2-core machine.)"""

import cv2
import numpy as np
import onnx
import pytest
import torch

from inpaint.cli.main import main
from inpaint.export import contract as C
from inpaint.models import build_model
from inpaint.models.checkpoint import save_model

pytest.importorskip("onnxruntime_extensions")


def far_t_switched_on():
    """far-t with every zero-initialised scale set and a steeper head, so the prior and attention paths show in the output."""
    torch.manual_seed(0)
    model = build_model("far-t").eval()
    with torch.no_grad():
        for p in model.net.parameters():
            if p.ndim == 0 and p.requires_grad:
                p.fill_(0.7)
        model.net.head.weight.mul_(20)  # spread the sigmoid output (0.48-0.72 here) so mismatches would show
    return model


def graph_ops(proto: onnx.ModelProto) -> list[tuple[str, str]]:
    """(domain, op_type) of every node, local functions included."""
    nodes = list(proto.graph.node) + [n for f in proto.functions for n in f.node]
    return [(n.domain, n.op_type) for n in nodes]


def test_export_plugin_graph_and_run(tmp_path, capsys):
    model = far_t_switched_on()
    ckpt = save_model(model, tmp_path / "far-t.safetensors")
    assert main(["export", str(ckpt), "--ops", "plugin", "--verify", "-o", str(tmp_path / "far.onnx")]) == 0
    out = capsys.readouterr().out
    assert "export success" in out and "real-photo" in out
    proto = onnx.load(str(tmp_path / "far.onnx"))
    ops = graph_ops(proto)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta[C.KEY_FAMILY] == "far" and meta[C.KEY_PRESET] == "far-t" and meta[C.KEY_STRIDE] == "128"
    assert meta[C.KEY_CUSTOM_OPS] == "MaskedAttentionAggregate"
    assert ops.count(("inpaint", "MaskedAttentionAggregate")) == 2
    assert not any(op == "DFT" for _, op in ops)
    # one graph: the MAE's transformer (softmax attention in 2 + 2 blocks) and the ACR's convolutions together
    assert sum(op == "Softmax" for _, op in ops) >= 4 and sum(op == "Conv" for _, op in ops) >= 10
    assert [i.name for i in proto.graph.input] == ["image", "mask"] and len(proto.graph.output) == 1

    # inpaint run on a non-square photo that is not a multiple of 128 (the runtime pads)
    g = np.random.default_rng(0)
    yy, xx = np.mgrid[0:150, 0:200]
    photo = np.stack([xx * 255 / 200, yy * 255 / 150, (xx + yy) * 255 / 350], -1).astype(np.uint8)
    photo = np.clip(photo.astype(int) + g.integers(-20, 20, photo.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((150, 200), np.uint8)
    cv2.circle(mask, (120, 70), 30, 255, -1)
    cv2.imwrite(str(tmp_path / "photo.png"), photo)
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    assert main(["run", str(tmp_path / "photo.png"), str(tmp_path / "mask.png"), "-o", str(tmp_path / "out.png"),
                 "--model", str(tmp_path / "far.onnx"), "--engine", "onnx", "--texture", "off"]) == 0
    result = cv2.imread(str(tmp_path / "out.png"))
    assert result.shape == photo.shape
    known = mask == 0
    assert np.array_equal(result[known], photo[known])
    # the hole is the model's: PyTorch on the same input agrees to 8-bit rounding
    image = torch.from_numpy(photo[..., ::-1].copy()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        want = model(image, torch.from_numpy(mask > 0).float()[None, None])[0].permute(1, 2, 0).numpy()[..., ::-1] * 255
    assert np.abs(result.astype(float) - want).max() <= 1.0
