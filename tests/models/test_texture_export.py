"""The texture stage's exportable torch form equals the NumPy stage the runtime runs; its ONNX graphs run on
ONNX Runtime (standard ops, and the plugin graph with the project's MaskedAttentionAggregate kernel)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from inpaint.errors import UserError  # noqa: E402
from inpaint.export.texture import build_texture_stage, export_texture_onnx  # noqa: E402
from inpaint.runtime.texture.stage import texture_fill  # noqa: E402


def _case(h, w, seed=0, covered=False):
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.random((8, 6, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    detail = cv2.GaussianBlur(rng.normal(0, 0.08, (h, w, 3)).astype(np.float32), (0, 0), 0.8)
    image = np.clip(base + detail, 0, 1).astype(np.float32)
    hole = np.zeros((h, w), np.uint8)
    cv2.ellipse(hole, (w // 2, h // 2), (w // 5, h // 6), 20, 0, 360, 1, -1)
    hole = np.ones((h, w), bool) if covered else hole > 0
    fill = image.copy()
    fill[hole] = cv2.GaussianBlur(image, (0, 0), 8)[hole]
    return image, hole, fill


def _nchw(x):
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], np.float32)


def _inputs(image, hole, fill):
    return _nchw(image), hole[None, None].astype(np.float32), _nchw(fill)


@pytest.mark.parametrize("hw, seed", [((256, 192), 0), ((128, 256), 1)])
def test_torch_form_equals_the_numpy_stage(hw, seed):
    image, hole, fill = _case(*hw, seed)
    want, matches = texture_fill(image, hole, fill)
    assert matches is not None
    with torch.no_grad():
        got = build_texture_stage()(*map(torch.from_numpy, _inputs(image, hole, fill)))[0].numpy().transpose(1, 2, 0)
    np.testing.assert_allclose(got, want, atol=1e-4)
    np.testing.assert_array_equal(got[~hole], fill[~hole])


def test_nothing_to_copy_gives_the_fill_back():
    image, hole, fill = _case(128, 128, covered=True)
    with torch.no_grad():
        got = build_texture_stage()(*map(torch.from_numpy, _inputs(image, hole, fill)))[0].numpy().transpose(1, 2, 0)
    np.testing.assert_array_equal(got, fill)


@pytest.mark.parametrize("ops", ["standard", "plugin"])
def test_onnx_graph_on_onnx_runtime(tmp_path, ops):
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    if ops == "plugin":
        pytest.importorskip("onnxruntime_extensions", reason="the plugin graph's kernels need onnxruntime-extensions")
    path = export_texture_onnx(tmp_path / f"texture-{ops}.onnx", size=(128, 192), ops=ops)
    proto = onnx.load(str(path))
    custom = [n for n in proto.graph.node if n.domain == "inpaint"]
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["inpaint.kind"] == "texture" and meta["inpaint.size"] == "192x128"
    if ops == "plugin":
        assert [n.op_type for n in custom] == ["MaskedAttentionAggregate"] * 3
        from inpaint.ops.ort_custom_ops import custom_op_session_options

        options = custom_op_session_options({"MaskedAttentionAggregate"})
    else:
        assert not custom
        options = ort.SessionOptions()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    for seed in (2, 3):  # batch of two: N is dynamic
        cases = [_case(128, 192, seed + 10 * k) for k in range(2)]
        feeds = [np.concatenate(x) for x in zip(*(_inputs(*c) for c in cases))]
        (out,) = session.run(None, dict(zip(("image", "mask", "fill"), feeds)))
        for k, (image, hole, fill) in enumerate(cases):
            want, _ = texture_fill(image, hole, fill)
            np.testing.assert_allclose(out[k].transpose(1, 2, 0), want, atol=1e-4)


def test_export_refuses_a_size_off_the_grid(tmp_path):
    with pytest.raises(UserError, match="multiples of 64"):
        export_texture_onnx(tmp_path / "t.onnx", size=(100, 128))
    assert not (tmp_path / "t.onnx").exists()


def test_cli_export_texture(tmp_path, capsys):
    pytest.importorskip("onnx")
    from inpaint.cli.main import main

    assert main(["export-texture", "-o", str(tmp_path / "t.onnx"), "--size", "128x64", "--ops", "standard"]) == 0
    assert (tmp_path / "t.onnx").is_file() and "128x64" in capsys.readouterr().out
    assert main(["export-texture", "-o", str(tmp_path / "bad.onnx"), "--size", "100x64"]) == 2
    assert "multiples of 64" in capsys.readouterr().err and not (tmp_path / "bad.onnx").exists()
