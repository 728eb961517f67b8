"""fp16 / bf16 ONNX graphs (``export_onnx(precision=...)``, inpaint.export.precision) on the tiny MADF and FAR.

The graphs are inspected with onnx: element types tracked with ``onnx.shape_inference`` and checked against
the float32 islands, found here by walking the float32 graph independently of the pass; then run on ONNX
Runtime against the float32 PyTorch model (PSNR of the hole pixels >= 40 dB, known pixels exact).
"""

import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto as TP

from inpaint.cli.main import main
from inpaint.export import contract as C
from inpaint.export.onnx import GraphContract, example_inputs, export_onnx
from inpaint.export.precision import emulate_in_float32, graph_precision, reduce_precision
from inpaint.export.verify import MIN_PSNR_DB, VerificationError, _real_case, onnx_session, psnr_db, verify_onnx
from inpaint.models import build_model
from inpaint.models.checkpoint import save_model
from tests.models.test_far_export import far_t_switched_on

pytest.importorskip("onnxruntime_extensions")

LOW = {"fp16": TP.FLOAT16, "bf16": TP.BFLOAT16}
WEIGHTED = {"Conv", "ConvTranspose", "MatMul", "Gemm", "Einsum"}


def madf_pushpull():
    """madf-t with the push-pull prefill (its islands are part of the check) and non-zero output heads."""
    torch.manual_seed(0)
    model = build_model("madf-t", prefill="pushpull").eval()
    with torch.no_grad():
        for head in (model.net.recovery[-1].fuse, *(d.head for d in model.net.refine)):
            torch.nn.init.normal_(head.weight, std=0.3)
    return model


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    """{family: (model, {(ops, precision): path})}: float32 exports at opset 22 (bf16 needs it), reduced by the pass,
    with the metadata export_onnx writes."""
    root = tmp_path_factory.mktemp("precision")
    out = {}
    for family, model in (("madf", madf_pushpull()), ("far", far_t_switched_on())):
        paths = {}
        for ops in ("standard", "plugin"):
            fp32 = export_onnx(model, root / f"{family}-{ops}.onnx", ops=ops, opset=22)
            paths[ops, "fp32"] = fp32
            for precision in LOW:
                proto = reduce_precision(onnx.load(str(fp32)), precision)
                for p in proto.metadata_props:
                    if p.key == C.KEY_PRECISION:
                        p.value = precision
                paths[ops, precision] = root / f"{family}-{ops}-{precision}.onnx"
                onnx.save(proto, str(paths[ops, precision]))
        out[family] = (model, paths)
    return out


def elem_types(proto: onnx.ModelProto) -> dict[str, int]:
    """Element type of every tensor, from strict shape inference (which also checks the node type constraints)."""
    inferred = onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    g = inferred.graph
    types = {vi.name: vi.type.tensor_type.elem_type for vi in (*g.input, *g.output, *g.value_info)}
    types.update({i.name: i.data_type for i in g.initializer})
    for n in g.node:
        if n.op_type == "Constant":
            types[n.output[0]] = n.attribute[0].t.data_type
    return types


def islands_of_float32_graph(proto: onnx.ModelProto) -> dict[str, set[str]]:
    """Tensor names of the float32 graph that must stay float32, by kind, found by walking it:

    front: computed from the graph inputs before any layer with weights (mask arithmetic, prefill, resize matrices)
    dft: the outputs of MatMuls with an operand built from Cos/Sin of sizes only (DFT matrices)
    """
    inits = {i.name for i in proto.graph.initializer} | {n.output[0] for n in proto.graph.node if n.op_type == "Constant"}
    weighted_out, front, trig, data = set(), set(), set(), {i.name for i in proto.graph.input}
    dft = set()
    for n in proto.graph.node:
        has_weight = n.domain == "inpaint" or (n.op_type in WEIGHTED and any(t in inits for t in n.input))
        downstream = any(t in weighted_out for t in n.input)
        if has_weight or downstream:
            weighted_out.update(n.output)
        elif any(t in data for t in n.input):
            front.update(n.output)
        if n.op_type not in ("Shape", "Size") and any(t in data for t in n.input):
            data.update(n.output)
        if not any(t in data for t in n.input) and (n.op_type in ("Cos", "Sin") or (n.op_type != "MatMul" and any(t in trig for t in n.input))):
            trig.update(n.output)
        if n.op_type == "MatMul" and any(t in trig for t in n.input):
            dft.update(n.output)
    return {"front": front, "dft": dft}


CASES = [(f, ops, p) for f in ("madf", "far") for ops in ("standard", "plugin") for p in LOW]


@pytest.mark.parametrize("family, ops, precision", CASES)
def test_graph_types_and_float32_islands(graphs, family, ops, precision):
    model, paths = graphs[family]
    fp32, proto = onnx.load(str(paths[ops, "fp32"])), onnx.load(str(paths[ops, precision]))
    onnx.checker.check_model(proto, full_check=True)
    assert graph_precision(proto) == precision and graph_precision(fp32) == "fp32"
    low, types = LOW[precision], elem_types(proto)
    g = proto.graph
    # the graph contract: float32 image / mask in, float32 inpainted out
    assert [(i.name, i.type.tensor_type.elem_type) for i in g.input] == [("image", TP.FLOAT), ("mask", TP.FLOAT)]
    assert [(o.name, o.type.tensor_type.elem_type) for o in g.output] == [("inpainted", TP.FLOAT)]

    def dtypes(names):
        return {types[t] for t in names if t and types.get(t) in (TP.FLOAT, TP.FLOAT16, TP.BFLOAT16)}

    # op-type islands: normalisation statistics, softmax, mean reductions in float32
    islands = [n for n in g.node if n.op_type in ("Softmax", "ReduceMean", "LayerNormalization", "InstanceNormalization", "DFT")]
    assert all(dtypes([*n.input, *n.output]) == {TP.FLOAT} for n in islands)
    if family == "far":
        assert sum(n.op_type == "Softmax" for n in islands) == 6 and sum(n.op_type == "LayerNormalization" for n in islands) == 10
    # inference BatchNormalization: its constant statistics folded in float32 into scale and bias, then reduced
    inits = {i.name: i for i in g.initializer}
    for n in (n for n in g.node if n.op_type == "BatchNormalization"):
        mean, var = (onnx.numpy_helper.to_array(inits[t]).astype(np.float32) for t in n.input[3:5])
        assert dtypes([*n.input, *n.output]) == {low} and not mean.any() and (var == 1).all()
    # DFT-matrix products and the front (mask arithmetic, push-pull prefill, resize matrices), from the float32 graph
    found = islands_of_float32_graph(fp32)
    assert dtypes(found["dft"]) <= {TP.FLOAT} and dtypes(found["front"]) == {TP.FLOAT}
    assert len(found["dft"]) == (8 if family == "far" else 0)  # 1 FFC block x 2 Fourier units x 4 products (2 a transform)
    if family == "madf":
        pools = [n for n in g.node if n.op_type == "AveragePool"]  # push-pull's pyramid
        assert len(pools) >= 8 and all(dtypes([*n.input, *n.output]) == {TP.FLOAT} for n in pools)
    # the composite reads the graph's float32 image directly: known pixels stay exact
    last = next(n for n in g.node if "inpainted" in n.output)
    assert last.op_type == "Where" and "image" in last.input and dtypes(last.input) == {TP.FLOAT}
    # the body: every layer with weights computes in the reduced type, weights stored in it
    convs = [n for n in g.node if n.op_type in ("Conv", "ConvTranspose")]
    assert convs and all(dtypes(n.input) == {low} and inits[n.input[1]].data_type == low for n in convs)
    plugin_inputs = {t for n in g.node if n.domain == "inpaint" for t in n.input}
    float_bytes = {t: sum(onnx.numpy_helper.to_array(i).nbytes for i in g.initializer if i.data_type == t and i.name not in plugin_inputs) for t in (TP.FLOAT, low)}
    assert float_bytes[low] > 10 * float_bytes[TP.FLOAT]
    einsum = [n for n in g.node if n.op_type == "Einsum"]  # the MPE's direction table; Einsum has no bfloat16 form
    assert all(dtypes(n.input) == {TP.FLOAT if precision == "bf16" else low} for n in einsum)
    # custom nodes take float16 in fp16 graphs (the plugins' FP16 combination), float32 in bf16 graphs; attributes as before
    custom, custom32 = [n for n in g.node if n.domain == "inpaint"], [n for n in fp32.graph.node if n.domain == "inpaint"]
    assert [n.op_type for n in custom] == [n.op_type for n in custom32]
    assert len(custom) == {("madf", "plugin"): 4, ("far", "plugin"): 2}.get((family, ops), 0)
    for n, n32 in zip(custom, custom32):
        assert list(n.attribute) == list(n32.attribute)
        plugin_type = TP.FLOAT16 if precision == "fp16" else TP.FLOAT
        assert dtypes([*n.input, *n.output]) == {plugin_type}
        assert all(inits[t].data_type == plugin_type for t in n.input if t in inits)
    # no cast chain the pass could have folded: the only Cast -> Cast pairs are the float32 graph's own
    def chains(p):
        prod = {o: n for n in p.graph.node for o in n.output}
        return {n.name for n in p.graph.node if n.op_type == "Cast" and getattr(prod.get(n.input[0]), "op_type", "") == "Cast"}
    assert chains(proto) <= chains(fp32)


def _run_cases(model, session):
    reference = GraphContract(model.eval()).eval()
    for image, mask in (example_inputs(model, batch=2, seed=3), _real_case(model.stride)):
        with torch.no_grad():
            want = reference(image, mask).numpy()
        got = session.run(["inpainted"], {"image": image.numpy(), "mask": mask.numpy()})[0]
        hole = np.broadcast_to(mask.numpy() > 0.5, want.shape)
        yield got, want, hole, image.numpy()


@pytest.mark.parametrize("family", ["madf", "far"])
def test_fp16_standard_graph_on_onnx_runtime(graphs, family):
    """The fp16 graph as written on ONNX Runtime's CPU (it adds its own casts around fp16 nodes it lacks kernels for)."""
    model, paths = graphs[family]
    session = onnx_session(paths["standard", "fp16"])
    twin = ort.InferenceSession(emulate_in_float32(onnx.load(str(paths["standard", "fp16"]))).SerializeToString(), providers=["CPUExecutionProvider"])
    twin_out = [got for got, *_ in _run_cases(model, twin)]
    for (got, want, hole, image), emulated in zip(_run_cases(model, session), twin_out):
        assert got.dtype == np.float32 and np.array_equal(got[~hole], image[~hole])
        assert 0 < np.abs(got - want).max() and psnr_db(got, want, hole) >= MIN_PSNR_DB
        assert want[hole].std() > 0.02  # the holes hold varied content, not a constant the test would trivially match
        # the float32 twin that rounds every reduced tensor (what verify runs where ONNX Runtime cannot run a graph)
        # estimates the real run's error within 6 dB (a factor 2 in RMS)
        assert abs(psnr_db(emulated, want, hole) - psnr_db(got, want, hole)) <= 6


def test_bf16_on_onnx_runtime(graphs):
    """ONNX Runtime's CPU has no bfloat16 kernels for most ops; the check says which one it stops at."""
    _, paths = graphs["madf"]
    try:
        ort.InferenceSession(str(paths["standard", "bf16"]), providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001  (ONNX Runtime raises its own exception classes)
        message = str(exc).splitlines()[0]
        assert "NOT_IMPLEMENTED" in message or "Could not find an implementation" in message
        pytest.skip(f"onnxruntime {ort.__version__} CPU has no bfloat16 kernel: {message[:160]}")
    pytest.fail("ONNX Runtime now loads bfloat16 graphs: run them as written in verify.py and here")


@pytest.mark.parametrize("family, ops, precision", [("madf", "plugin", "fp16"), ("far", "standard", "bf16")])
def test_verify_reduced_graphs(graphs, family, ops, precision):
    """verify_onnx on the graphs ONNX Runtime cannot run as written: their rounding twin (custom nodes in float32 NumPy)."""
    model, paths = graphs[family]
    report = verify_onnx(model, paths[ops, precision])
    assert {c.mode for c in report} == {"emulated"} and all(c.known_exact and c.psnr_db >= MIN_PSNR_DB for c in report)
    assert all(math.isfinite(c.psnr_db) for c in report)


def test_verify_fails_below_the_psnr(graphs):
    _, paths = graphs["madf"]
    other = madf_pushpull()
    with torch.no_grad():
        for p in other.net.refine[-1].head.parameters():
            p.add_(0.05)
    with pytest.raises(VerificationError, match="dB PSNR"):
        verify_onnx(other, paths["standard", "fp16"])


def test_export_cli_precision(tmp_path, capsys):
    ckpt = save_model(build_model("madf-t"), tmp_path / "m.safetensors")
    assert main(["export", str(ckpt), "--ops", "standard", "--precision", "fp16", "--verify", "-o", str(tmp_path / "m16.onnx")]) == 0
    out = capsys.readouterr().out
    assert "hole PSNR" in out and "(ort)" in out and "fp16, weights fp32, opset 18" in out
    proto = onnx.load(str(tmp_path / "m16.onnx"))
    assert {p.key: p.value for p in proto.metadata_props}[C.KEY_PRECISION] == "fp16"
    assert main(["export", str(ckpt), "--precision", "bf16", "-o", str(tmp_path / "m-bf16.onnx")]) == 0
    proto = onnx.load(str(tmp_path / "m-bf16.onnx"))
    assert {p.key: p.value for p in proto.metadata_props}[C.KEY_PRECISION] == "bf16"
    assert [o.version for o in proto.opset_import if o.domain == ""] == [22]
    assert main(["export", str(ckpt), "--precision", "bf16", "--opset", "18", "-o", str(tmp_path / "x.onnx")]) == 2
    assert "opset 22" in capsys.readouterr().err and not (tmp_path / "x.onnx").exists()
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_float32_export_says_fp32(graphs):
    _, paths = graphs["madf"]
    proto = onnx.load(str(paths["standard", "fp32"]))
    assert {p.key: p.value for p in proto.metadata_props}[C.KEY_PRECISION] == "fp32"
    assert {i.data_type for i in proto.graph.initializer} <= {TP.FLOAT, TP.INT64, TP.BOOL}


def test_inpaint_run_on_an_fp16_graph(graphs, tmp_path):
    """The fp16 standard graph keeps the float32 contract, so 'inpaint run --engine onnx' takes it as any graph."""
    import cv2

    _, paths = graphs["madf"]
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    mask = np.zeros((40, 60), np.uint8)
    mask[10:25, 20:45] = 255
    cv2.imwrite(str(tmp_path / "photo.png"), photo)
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    args = ["run", str(tmp_path / "photo.png"), str(tmp_path / "mask.png"), "--engine", "onnx"]
    assert main([*args, "-o", str(tmp_path / "out16.png"), "--model", str(paths["standard", "fp16"])]) == 0
    assert main([*args, "-o", str(tmp_path / "out32.png"), "--model", str(paths["standard", "fp32"])]) == 0
    out16, out32 = cv2.imread(str(tmp_path / "out16.png")), cv2.imread(str(tmp_path / "out32.png"))
    assert np.array_equal(out16[mask == 0], photo[mask == 0])
    assert np.abs(out16.astype(int) - out32).max() <= 1  # 8-bit output: fp16 moves a hole pixel by one level at most
