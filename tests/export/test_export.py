"""ONNX export of the tiny MADF in both variants: graph shape, metadata, ONNX Runtime against PyTorch."""

import json

import numpy as np
import onnx
import pytest
import torch

from inpaint.cli.main import main
from inpaint.export import contract as C
from inpaint.export.onnx import export_onnx
from inpaint.export.verify import VerificationError, onnx_session, verify_onnx
from inpaint.models import build_model
from inpaint.models.checkpoint import save_model
from inpaint.runtime.processing import crop, pad_to_multiple

pytest.importorskip("onnxruntime_extensions")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model("madf-t").eval()
    root = tmp_path_factory.mktemp("export")
    paths = {ops: export_onnx(model, root / f"{ops}.onnx", ops=ops, checkpoint_sha256="ab" * 32) for ops in ("plugin", "standard")}
    return model, paths


def test_graphs_and_metadata(exported):
    model, paths = exported
    for ops, path in paths.items():
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto, full_check=True)
        meta = {p.key: p.value for p in proto.metadata_props}
        assert meta[C.KEY_FAMILY] == "madf" and meta[C.KEY_PRESET] == "madf-t" and meta[C.KEY_STRIDE] == "16"
        assert meta[C.KEY_MASK] == "1=hole" and meta[C.KEY_SHA256] == "ab" * 32 and meta[C.KEY_OPS] == ops
        assert json.loads(meta[C.KEY_CONFIG]) == json.loads(json.dumps(model.config))
        assert [i.name for i in proto.graph.input] == ["image", "mask"] and [o.name for o in proto.graph.output] == ["inpainted"]
        dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
        assert isinstance(dims[0], str) and dims[1] == 3 and all(isinstance(d, str) for d in dims[2:])
        custom = [n for n in proto.graph.node if n.domain == "inpaint"]
        if ops == "plugin":
            assert [n.op_type for n in custom] == ["MaskAwareDynamicConv"] * len(model.net.encoder)
            attrs = {a.name: a.s.decode() if a.type == onnx.AttributeProto.STRING else a.i for a in custom[0].attribute}
            # the op's attributes in the plugin's order, then TensorRT's parser attributes (namespace, strict AOT)
            assert attrs == {"kernel_size": 7, "stride": 2, "pad": 3, "plugin_namespace": "inpaint", "aot": 1}
            assert [a.name for a in custom[0].attribute] == ["kernel_size", "stride", "pad", "plugin_namespace", "aot"]
            assert meta[C.KEY_CUSTOM_OPS] == "MaskAwareDynamicConv"
        else:
            assert not custom and {n.domain for n in proto.graph.node} <= {"", "ai.onnx"}


@pytest.mark.parametrize("hw", [(256, 384), (333, 517)])
def test_onnx_runtime_matches_pytorch(exported, hw):
    """Both variants in ONNX Runtime against PyTorch within 1e-4; odd sizes go through the runtime's padding."""
    model, paths = exported
    g = torch.Generator().manual_seed(1)
    image = torch.rand(2, 3, *hw, generator=g)
    mask = (torch.rand(2, 1, *hw, generator=g) > 0.7).float()
    with torch.no_grad():
        want = model(image, mask).numpy()
    padded_image, size = pad_to_multiple(image.numpy(), model.stride)
    padded_mask, _ = pad_to_multiple(mask.numpy(), model.stride)
    outs = {}
    for ops, path in paths.items():
        got = onnx_session(path).run(["inpainted"], {"image": padded_image, "mask": padded_mask})[0]
        outs[ops] = crop(got, size)
        assert np.abs(outs[ops] - want).max() <= 1e-4
        known = np.broadcast_to(mask.numpy() == 0, want.shape)
        assert np.array_equal(outs[ops][known], image.numpy()[known])
    assert np.abs(outs["plugin"] - outs["standard"]).max() <= 1e-5


def test_verify_passes_and_catches_a_wrong_graph(exported):
    model, paths = exported
    assert all(case.max_abs_err <= 1e-4 for case in verify_onnx(model, paths["standard"]))
    other = build_model("madf-t").eval()
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.05)
    with pytest.raises(VerificationError, match="differs from PyTorch"):
        verify_onnx(other, paths["plugin"])


def test_export_cli(tmp_path, capsys):
    ckpt = save_model(build_model("madf-t"), tmp_path / "m.safetensors")
    assert main(["export", str(ckpt), "--ops", "standard", "--verify"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "m.onnx").is_file() and "export success" in out and "real-photo" in out
    assert not list(tmp_path.glob(".*"))  # no temporary files left
    assert main(["export", str(tmp_path / "missing.safetensors")]) == 2
    assert main(["export", str(ckpt), "--engine", "trt"]) == 2
    assert "TensorRT" in capsys.readouterr().err
    assert main(["export", str(ckpt), "--opset", "12", "-o", str(tmp_path / "x.onnx")]) == 2
    assert not (tmp_path / "x.onnx").exists()


def test_weight_computations_are_folded_into_the_file(exported):
    """No node computes from weights alone (the factorised / phase kernels are initializers of the file)."""
    _, paths = exported
    for ops, path in paths.items():
        proto = onnx.load(str(path))
        sizes = {i.name: int(np.prod(i.dims)) for i in proto.graph.initializer}
        constant_only = [n for n in proto.graph.node if n.input and all(i in sizes for i in n.input if i)
                         and sum(sizes[i] for i in n.input if i) > 64]
        assert not constant_only, [(n.op_type, list(n.input)) for n in constant_only[:3]]
        assert sum(n.op_type == "Conv" for n in proto.graph.node) > 0
