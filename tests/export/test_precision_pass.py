"""The precision pass (inpaint.export.precision) on a small hand-written graph: classification, casts, constants."""

import logging

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper as nh

from inpaint.export.precision import emulate_in_float32, reduce_precision


def small_graph() -> onnx.ModelProto:
    """x (1,4,8,8), mask (1,1,8,8) 1 = hole -> where(hole, sigmoid(conv2((r * hole + softmax(r + c)) * hole)), x),
    r = relu(conv1(x * (1 - hole))), c a constant that leaves channel 1 out of the softmax."""
    rng = np.random.default_rng(0)
    inits = [
        nh.from_array(rng.normal(size=(4, 4, 3, 3)).astype(np.float32) * 0.3, "w1"),
        nh.from_array(rng.normal(size=(4, 4, 1, 1)).astype(np.float32) * 0.3, "w2"),
        nh.from_array(np.array(0.5, np.float32), "half"),
        nh.from_array(np.array(1.0, np.float32), "one"),
        nh.from_array(np.array([0, -1e9, 0, 0], np.float32).reshape(1, 4, 1, 1), "huge"),  # beyond float16: clipped to -65504
    ]
    nodes = [
        h.make_node("Greater", ["mask", "half"], ["hole"]),
        h.make_node("Cast", ["hole"], ["hole_f"], to=TP.FLOAT),
        h.make_node("Sub", ["one", "hole_f"], ["known"]),
        h.make_node("Mul", ["x", "known"], ["xk"]),
        h.make_node("Conv", ["xk", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        h.make_node("Relu", ["c1"], ["r"]),
        h.make_node("Mul", ["r", "hole_f"], ["rh"]),  # needs hole_f in float16: bool -> float16 directly
        h.make_node("Add", ["r", "huge"], ["logits"]),  # channel 1 left out of the softmax
        h.make_node("Softmax", ["logits"], ["p"], axis=1),
        h.make_node("Add", ["rh", "p"], ["y"]),
        h.make_node("Mul", ["y", "hole_f"], ["yh"]),  # the same cast of hole_f, shared
        h.make_node("Conv", ["yh", "w2"], ["c2"]),
        h.make_node("Sigmoid", ["c2"], ["s"]),
        h.make_node("Where", ["hole", "s", "x"], ["out"]),
    ]
    graph = h.make_graph(
        nodes, "small",
        [h.make_tensor_value_info("x", TP.FLOAT, [1, 4, 8, 8]), h.make_tensor_value_info("mask", TP.FLOAT, [1, 1, 8, 8])],
        [h.make_tensor_value_info("out", TP.FLOAT, [1, 4, 8, 8])], inits,
    )
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 22)])
    model.ir_version = 10
    return model


def types_of(model):
    g = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True).graph
    types = {vi.name: vi.type.tensor_type.elem_type for vi in (*g.input, *g.output, *g.value_info)}
    return {**types, **{i.name: i.data_type for i in g.initializer}}


@pytest.mark.parametrize("precision, low", [("fp16", TP.FLOAT16), ("bf16", TP.BFLOAT16)])
def test_classification_and_casts(precision, low, caplog):
    with caplog.at_level(logging.WARNING, logger="inpaint.export"):
        model = reduce_precision(small_graph(), precision)
    onnx.checker.check_model(model, full_check=True)
    t, nodes = types_of(model), {n.output[0]: n for n in model.graph.node}
    assert {t[n] for n in ("hole_f", "known", "xk")} == {TP.FLOAT}  # the front (mask arithmetic) stays float32
    assert {t[n] for n in ("c1", "r", "rh", "y", "yh", "c2")} == {low}  # the body
    assert t["p"] == TP.FLOAT and t[nodes["p"].input[0]] == TP.FLOAT  # softmax island (and its masked logits)
    assert t["s"] == TP.FLOAT and nodes["out"].input[1:] == ["s", "x"]  # the tail: sigmoid, composite with the input
    casts = [n for n in model.graph.node if n.op_type == "Cast"]
    from_hole = [n for n in casts if n.input[0] == "hole" and n.attribute[0].i == low]
    assert len(from_hole) == 1  # bool -> reduced directly (folded), shared by both products
    assert nodes["rh"].input[1] == nodes["yh"].input[1] == from_hole[0].output[0]
    producers = {o: n.op_type for n in model.graph.node for o in n.output}
    assert not any(producers.get(n.input[0]) == "Cast" for n in casts)
    inits = {i.name: nh.to_array(i) for i in model.graph.initializer}
    assert inits[nodes["c1"].input[1]].dtype.itemsize == 2 and "w1" not in inits  # weights converted, originals gone
    if precision == "fp16":
        assert "huge" in caplog.text
    # the reduced graph computes what the float32 one does, up to its rounding
    rng = np.random.default_rng(1)
    feed = {"x": rng.random((1, 4, 8, 8), np.float32), "mask": (rng.random((1, 1, 8, 8)) > 0.5).astype(np.float32)}
    want = ort.InferenceSession(small_graph().SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)[0]
    runnable = model if precision == "fp16" else emulate_in_float32(model)
    got = ort.InferenceSession(runnable.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feed)[0]
    hole = np.broadcast_to(feed["mask"] > 0.5, want.shape)
    assert np.array_equal(got[~hole], feed["x"][~hole]) and 0 < np.abs(got - want).max() < 2e-2


def test_emulation_rounds_like_the_reduced_type():
    """The float32 twin of a bf16 graph holds bf16 values: every reduced tensor is rounded after its node."""
    model = emulate_in_float32(reduce_precision(small_graph(), "bf16"))
    onnx.checker.check_model(model, full_check=True)
    assert {i.data_type for i in model.graph.initializer} <= {TP.FLOAT, TP.INT64}
    model.graph.output.append(h.make_tensor_value_info("c1", TP.FLOAT, None))
    feed = {"x": np.random.default_rng(2).random((1, 4, 8, 8), np.float32), "mask": np.zeros((1, 1, 8, 8), np.float32)}
    c1 = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(["c1"], feed)[0]
    assert c1.dtype == np.float32 and not (c1.view(np.uint32) & 0xFFFF).any()  # bf16 = the top 16 bits of a float32


def test_fp32_and_bad_requests():
    model = small_graph()
    assert reduce_precision(model, "fp32") is model
    with pytest.raises(ValueError, match="precision"):
        reduce_precision(model, "int8")
    old = small_graph()
    old.opset_import[0].version = 18
    with pytest.raises(ValueError, match="opset 22"):
        reduce_precision(old, "bf16")


def test_a_dft_node_stays_float32():
    """A DFT node (the form of torch.fft that ONNX Runtime's CPU can run) is an island like the DFT-matrix products."""
    rng = np.random.default_rng(3)
    inits = [
        nh.from_array(rng.normal(size=(2, 2, 3, 3)).astype(np.float32), "w1"),
        nh.from_array(rng.normal(size=(2, 4, 1, 1)).astype(np.float32), "w2"),
        nh.from_array(np.array([1, 2, 8, 8, 1], np.int64), "shape5"),
        nh.from_array(np.array([1, 4, 8, 8], np.int64), "shape4"),
        nh.from_array(np.array(-2, np.int64), "axis"),
    ]
    nodes = [
        h.make_node("Conv", ["x", "w1"], ["c"], pads=[1, 1, 1, 1]),
        h.make_node("Reshape", ["c", "shape5"], ["c5"]),
        h.make_node("DFT", ["c5", "", "axis"], ["spec"]),  # (1, 2, 8, 8, 2): real and imaginary parts
        h.make_node("Transpose", ["spec"], ["spec_t"], perm=[0, 1, 4, 2, 3]),
        h.make_node("Reshape", ["spec_t", "shape4"], ["spec4"]),
        h.make_node("Conv", ["spec4", "w2"], ["y"]),
    ]
    graph = h.make_graph(nodes, "dft", [h.make_tensor_value_info("x", TP.FLOAT, [1, 2, 8, 8])],
                         [h.make_tensor_value_info("y", TP.FLOAT, [1, 2, 8, 8])], inits)
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 20)])
    model.ir_version = 10
    reduced = reduce_precision(model, "fp16")
    onnx.checker.check_model(reduced, full_check=True)
    t = types_of(reduced)
    dft = next(n for n in reduced.graph.node if n.op_type == "DFT")
    head = next(n for n in reduced.graph.node if n.op_type == "Conv" and n.input[1].startswith("w2"))
    assert t[dft.input[0]] == t["spec"] == TP.FLOAT and t["c"] == t[head.input[0]] == TP.FLOAT16
    assert t["y"] == TP.FLOAT and reduced.graph.node[-1].op_type == "Cast"  # the output keeps float32, cast inside
    x = {"x": rng.random((1, 2, 8, 8), np.float32)}
    want = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, x)[0]
    got = ort.InferenceSession(reduced.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, x)[0]
    assert 0 < np.abs(got - want).max() < 5e-2 * np.abs(want).max()
