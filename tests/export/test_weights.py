"""``--weights int8``: FAR's large MatMul weights in 8-bit blocks (ONNX Runtime's MatMulNBits), the rest float32."""

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from inpaint.errors import UserError
from inpaint.export import contract as C
from inpaint.export.onnx import export_onnx
from inpaint.export.verify import onnx_session, verify_onnx
from inpaint.export.weights import BLOCK, quantizable_matmuls, quantize_matmul_weights
from inpaint.models import build_model
from inpaint.runtime.bench import bench_inputs

ort = pytest.importorskip("onnxruntime")


def _matmul_graph(k: int, n: int) -> onnx.ModelProto:
    w = (np.random.default_rng(0).standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    node = helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", n])], [numpy_helper.from_array(w, "w")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def test_large_matmul_weight_becomes_8bit_blocks_and_computes_the_same():
    proto = _matmul_graph(256, 384)
    x = np.random.default_rng(1).standard_normal((5, 256)).astype(np.float32)
    want = x @ numpy_helper.to_array(proto.graph.initializer[0])
    q = quantize_matmul_weights(proto)
    assert [n.op_type for n in q.graph.node] == ["MatMulNBits"]
    attrs = {a.name: helper.get_attribute_value(a) for a in q.graph.node[0].attribute}
    assert (attrs["bits"], attrs["block_size"], attrs["accuracy_level"]) == (8, BLOCK, 4)
    assert sum(i.ByteSize() for i in q.graph.initializer) < 0.3 * 256 * 384 * 4  # ~1 byte a weight + a scale per block
    (got,) = ort.InferenceSession(q.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    err = np.abs(got - want).max() / np.abs(want).max()
    assert 0 < err < 2e-2  # rounded to 8 bits, not left alone


def test_small_or_missing_matmuls_are_refused():
    assert quantizable_matmuls(_matmul_graph(64, 384)) == []
    with pytest.raises(UserError, match="--weights int8: this model has no MatMul weight"):
        quantize_matmul_weights(_matmul_graph(64, 384))


def test_int8_refused_for_tensorrt_and_reduced_precision(tmp_path):
    model = build_model("madf-t")
    with pytest.raises(UserError, match="TensorRT has no MatMulNBits"):
        export_onnx(model, tmp_path / "x.onnx", ops="standard", target="trt", weights="int8")
    with pytest.raises(UserError, match="is for float32 graphs"):
        export_onnx(model, tmp_path / "x.onnx", ops="standard", precision="fp16", weights="int8")
    with pytest.raises(UserError, match="--weights int4"):
        export_onnx(model, tmp_path / "x.onnx", ops="standard", weights="int4")


def test_far_with_int8_mae_weights_verifies_and_keeps_known_pixels(tmp_path):
    torch.manual_seed(0)
    model = build_model("far-t", mae_args={"dim": 128, "dec_dim": 128}).eval()  # MAE linear layers >= 128 wide
    with torch.no_grad():
        for p in model.net.parameters():
            if p.ndim == 0 and p.requires_grad:
                p.fill_(0.7)  # switch the prior and attention paths on, so the MAE's weights count
    fp32 = export_onnx(model, tmp_path / "fp32.onnx", ops="standard")
    int8 = export_onnx(model, tmp_path / "int8.onnx", ops="standard", weights="int8")
    proto = onnx.load(str(int8))
    assert {p.key: p.value for p in proto.metadata_props}[C.KEY_WEIGHTS] == "int8"
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("MatMulNBits") == 2 * 4 + 2 * 4 + 1 and "Conv" in ops  # 2 + 2 blocks x (qkv, proj, fc1, fc2) + decoder_embed
    assert int8.stat().st_size < fp32.stat().st_size
    image, mask = bench_inputs(256, 128, 1)
    outs = [onnx_session(p).run([C.OUTPUT], {C.INPUT_IMAGE: image, C.INPUT_MASK: mask})[0] for p in (fp32, int8)]
    hole = mask.repeat(3, 1) > 0
    assert 0 < np.abs(outs[0] - outs[1]).max() < 1e-2
    assert np.array_equal(outs[1][~hole], image[~hole])
    cases = verify_onnx(model, int8)  # judged by hole PSNR (>= 40 dB) with known pixels exact
    assert all(c.psnr_db >= 40 and c.known_exact for c in cases)


def test_export_cli_weights_option(tmp_path, capsys):
    from inpaint.cli.main import main
    from inpaint.models.checkpoint import save_model

    ckpt = save_model(build_model("madf-t"), tmp_path / "m.safetensors")
    assert main(["export", str(ckpt), "--ops", "standard", "--weights", "int8", "-o", str(tmp_path / "m.onnx")]) == 2
    assert "no MatMul weight" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
    assert main(["export", str(ckpt), "--engine", "trt", "--weights", "int8", "-o", str(tmp_path / "m.engine")]) == 2
