"""Engine building without TensorRT: shapes, precision rules, the graph checks and the engine file's metadata.

The plan itself comes from a stand-in builder (``tests/runtime/backends/trt_backend/fakes.py``); what is
tested is everything :func:`inpaint.export.trt.build_engine` does around TensorRT.
"""

from __future__ import annotations

import json

import pytest

from inpaint.errors import UserError
from inpaint.export import engine_file as E
from inpaint.export.trt import (
    Shapes, build_engine, check_graph_ops, default_shapes, parse_shapes, read_onnx, resolve_precision, version_tuple,
)
from tests.runtime.backends.trt_backend.fakes import fake_plan, stand_in_builder
from tests.runtime.model_files import model_files, plugin_onnx  # noqa: F401  (session fixtures)


def test_parse_shapes():
    s = parse_shapes("1x64x64, 2x128x96 ,4x256x256", 32)
    assert (s.min, s.opt, s.max) == ((1, 64, 64), (2, 128, 96), (4, 256, 256))
    assert s.profile()["image"] == [[1, 3, 64, 64], [2, 3, 128, 96], [4, 3, 256, 256]]
    assert s.profile()["mask"][2] == [4, 1, 256, 256]
    assert s.text() == "1x64x64,2x128x96,4x256x256"
    assert Shapes.from_profile(s.profile()) == s
    assert s.contains(3, 64, 256) and not s.contains(5, 64, 64) and not s.contains(1, 32, 64)


@pytest.mark.parametrize("text, match", [
    ("1x64x64,1x64x64", "three shapes"),
    ("1x64,1x64x64,1x64x64", "not NxHxW"),
    ("1x64x64,1xAx64,1x64x64", "not NxHxW"),
    ("0x64x64,1x64x64,1x64x64", "zero size"),
    ("1x64x64,1x48x64,1x64x64", "multiples of the model's stride 32"),
    ("1x128x128,1x64x64,1x256x256", "MIN <= OPT <= MAX"),
    ("2x64x64,1x64x64,4x64x64", "MIN <= OPT <= MAX"),
])
def test_parse_shapes_rejects(text, match):
    with pytest.raises(UserError, match=match):
        parse_shapes(text, 32)


def test_default_shapes():
    s = default_shapes(16, 64)
    assert (s.min, s.opt, s.max) == ((1, 16, 16), (1, 64, 64), (4, 2048, 2048))
    s = default_shapes(384, 512)  # everything rounded up to the stride
    assert s.opt == (1, 768, 768) and s.max == (4, 2304, 2304)


def test_version_tuple():
    assert version_tuple("10.13.3.9") == (10, 13) and version_tuple("11.0") == (11, 0) and version_tuple("x") == (0, 0)


@pytest.mark.parametrize("requested, graph, trt, expected", [
    (None, "fp32", "10.13.0", ("fp32", {})),
    ("fp16", "fp32", "10.13.0", ("fp16", {"fp16": True})),
    ("bf16", "fp32", "10.9.0", ("bf16", {"bf16": True})),
    (None, "fp16", "10.13.0", ("fp16", {"strongly_typed": True})),
    ("fp16", "fp16", "11.1.0", ("fp16", {})),
    (None, "bf16", "11.4.0", ("bf16", {})),
    ("fp32", "fp32", "11.0.0", ("fp32", {})),
])
def test_resolve_precision(requested, graph, trt, expected):
    assert resolve_precision(requested, graph, trt) == expected


@pytest.mark.parametrize("requested, graph, trt, match", [
    ("fp16", "fp32", "11.0.0", "strongly typed networks only"),
    ("fp32", "fp16", "10.13.0", "this is an fp16 graph"),
    ("bf16", "fp16", "11.1.0", "--precision bf16"),
    ("int8", "fp32", "10.13.0", "choose one of fp32, fp16, bf16"),
])
def test_resolve_precision_refuses(requested, graph, trt, match):
    with pytest.raises(UserError, match=match):
        resolve_precision(requested, graph, trt, "m.onnx")


def test_dft_nodes_refused_before_11_2():
    ops = {("", "Conv"), ("", "DFT")}
    for old in ("10.13.0", "11.1.0"):
        with pytest.raises(UserError, match="DFT nodes .*'--target trt'"):
            check_graph_ops(ops, old, "far.onnx")
    check_graph_ops(ops, "11.2.0", "far.onnx")
    check_graph_ops({("", "Conv")}, "10.9.0", "far.onnx")


def _build(onnx, out, calls=None, **kw):
    kw.setdefault("trt_version", "10.13.0.35")
    kw.setdefault("compute_capability", "8.6")
    return build_engine(onnx, out, plan_builder=stand_in_builder(calls), **kw)


def test_engine_file_carries_model_and_build_metadata(model_files, tmp_path):
    onnx = model_files["onnx"]
    meta, _ = read_onnx(onnx)
    calls = []
    shapes = parse_shapes("1x32x32,2x64x64,4x128x128", 16)
    header = _build(onnx, tmp_path / "m.engine", calls, precision="fp16", shapes=shapes, workspace_gib=2.0,
                    timing_cache=tmp_path / "t.cache")
    read_header, plan = E.read_engine_file(tmp_path / "m.engine")
    assert read_header == header and plan == fake_plan(shapes)
    for k, v in meta.items():  # every ONNX metadata_props entry survives
        assert header[k] == v
    assert header[E.KEY_TRT_VERSION] == "10.13.0.35" and header[E.KEY_COMPUTE_CAPABILITY] == "8.6"
    assert header[E.KEY_PRECISION] == "fp16" and header[E.KEY_PLUGIN_VERSION] == ""  # a standard-op graph
    assert json.loads(header[E.KEY_PROFILES]) == [shapes.profile()]
    import hashlib

    assert header[E.KEY_ONNX_SHA256] == hashlib.sha256(onnx.read_bytes()).hexdigest()
    (call,) = calls
    assert call["flags"] == {"fp16": True} and call["workspace"] == 2.0 and call["timing"] == tmp_path / "t.cache"
    assert call["shapes"] == shapes


def test_default_profile_and_stride_check(model_files, tmp_path):
    header = _build(model_files["onnx"], tmp_path / "m.engine")
    assert Shapes.from_profile(json.loads(header[E.KEY_PROFILES])[0]) == default_shapes(16, 64)
    with pytest.raises(UserError, match="multiples of the model's stride 16"):
        _build(model_files["onnx"], tmp_path / "x.engine", shapes=Shapes((1, 24, 24), (1, 32, 32), (1, 64, 64)))
    assert not (tmp_path / "x.engine").exists()


def test_fp16_from_fp32_graph_on_trt11_writes_nothing(model_files, tmp_path):
    with pytest.raises(UserError, match="strongly typed"):
        _build(model_files["onnx"], tmp_path / "m.engine", precision="fp16", trt_version="11.1.0")
    assert not list(tmp_path.iterdir())


def test_plugin_graph_registers_plugins_and_records_their_version(plugin_onnx, tmp_path, monkeypatch):
    from inpaint.ops import trt_plugins

    registered = []
    monkeypatch.setattr(trt_plugins, "register_all", lambda: registered.append(1) or ["inpaint::MaskAwareDynamicConv"])
    header = _build(plugin_onnx, tmp_path / "p.engine")
    assert registered and header[E.KEY_PLUGIN_VERSION] == trt_plugins.plugin_version() != ""
    # no plugin registered (TensorRT without tensorrt.plugin): a clear error naming the op and the way out
    monkeypatch.setattr(trt_plugins, "register_all", lambda: [])
    with pytest.raises(UserError, match="no TensorRT plugin registered for MaskAwareDynamicConv.*--ops standard"):
        _build(plugin_onnx, tmp_path / "q.engine")
    with pytest.raises(UserError, match="plugin graphs need TensorRT >= 10.9"):
        _build(plugin_onnx, tmp_path / "q.engine", trt_version="10.8.0")
    import onnx

    monkeypatch.setattr(trt_plugins, "register_all", lambda: ["inpaint::MaskAwareDynamicConv"])
    proto = onnx.load(str(plugin_onnx))
    if any(a.name == "plugin_namespace" for n in proto.graph.node if n.domain == "inpaint" for a in n.attribute):
        _build(plugin_onnx, tmp_path / "ns.engine", trt_version="10.9.0")  # the exporter writes the attribute
    else:
        with pytest.raises(UserError, match="10.9.0 finds a plugin only through the node attribute 'plugin_namespace'"):
            _build(plugin_onnx, tmp_path / "q.engine", trt_version="10.9.0")
    for node in proto.graph.node:
        if node.domain == "inpaint":
            node.attribute.append(onnx.helper.make_attribute("plugin_namespace", "inpaint"))
    onnx.save(proto, str(tmp_path / "with-ns.onnx"))
    _build(tmp_path / "with-ns.onnx", tmp_path / "ns2.engine", trt_version="10.9.0")
    assert not (tmp_path / "q.engine").exists()


def test_not_an_export(tmp_path):
    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"not a protobuf at all \xff\xff")
    with pytest.raises(UserError, match="x.onnx"):
        _build(bad, tmp_path / "x.engine")
    with pytest.raises(UserError, match="no such ONNX model"):
        _build(tmp_path / "absent.onnx", tmp_path / "x.engine")
