"""Reduced-precision ONNX graphs: float16 / bfloat16 with float32 islands, for strongly typed TensorRT.

TensorRT 11 has no FP16/BF16 builder flags: a network runs in the types its ONNX graph declares
(../shared/TENSORRT.md). :func:`reduce_precision` rewrites a float32 graph written by
:func:`inpaint.export.onnx.export_onnx` so that the network body computes in ``fp16`` or ``bf16`` while
these parts stay float32 (the *float32 islands*):

- normalisation and its statistics: ``LayerNormalization`` / ``GroupNormalization`` /
  ``InstanceNormalization`` (whole node) and the ``ReduceMean``-family reductions; an inference-mode
  ``BatchNormalization`` computes no statistics: its constant ones are folded in float32 into one scale and
  bias per channel (:meth:`_Pass.fold_batchnorm`) and the node runs in the reduced type;
- ``Softmax`` / ``LogSoftmax``;
- the DFT: ``DFT`` / ``STFT`` nodes, and every MatMul / Gemm / Einsum with a DFT-matrix operand (a
  ``Cos`` / ``Sin`` matrix computed from shapes only, as :mod:`inpaint.ops.fft.dft` builds them);
- the *front*: everything computed from the graph inputs ``image`` / ``mask`` before the first layer with
  weights: the mask arithmetic (thresholds, ``1 - mask``, the MPE distance grid, the MAE's patch masks and
  key bias, the 256 x 256 resize matrices) and MADF's push-pull prefill;
- the *tail*: everything after the last layer with weights (de-normalisation, residual add of the
  prefill, clamp, the composite ``where(hole, out, image)``), so known pixels stay bit-exact in float32.

Everything else (convolutions, matmuls with weights, attention, activations) runs in the reduced type, and so
do the custom ``inpaint`` nodes in fp16 graphs (their TensorRT plugins take FP16; in bf16 graphs they stay
float32, see :data:`CUSTOM_NODE_PRECISIONS`). Graph inputs and the output keep the
float32 contract of :mod:`inpaint.export.contract`; casts sit inside. A node whose ONNX schema has no form
in the reduced type at the graph's opset (``Einsum`` for bfloat16) stays float32. Float32 weights are
converted once (float16: clipped to +-65504; bfloat16: rounded to nearest even).

How a node is classified, walking the graph in order (the rules look at op types and data flow only, never
at node names, so they hold for any graph the exporter writes):
  1. island op types, DFT-matrix products and tail nodes: float32;
  2. MatMul / Gemm / Einsum / Conv / ConvTranspose and custom-domain nodes: reduced when an operand is a
     weight (an initializer or constant) or already reduced, float32 when all operands are computed
     float32 values (the front's resize matrices);
  3. any other node: reduced when one of its data inputs is reduced, else float32.
The inserted casts are shared per tensor, constants are converted instead of cast, and chains of two
casts are folded where the result is the same (``bool -> float32 -> float16`` becomes ``bool -> float16``).
"""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np

from inpaint._lazy import require

log = logging.getLogger("inpaint.export")

PRECISIONS = ("fp32", "fp16", "bf16")
#: Conv, ConvTranspose, MaxPool and AveragePool accept bfloat16 from ONNX opset 22 (onnx/docs/Changelog.md)
BF16_MIN_OPSET = 22
#: reduced types the custom ``inpaint`` nodes take: their TensorRT plugins declare float32 and float16 combinations
#: (issue 9, point 1), so in bf16 graphs they stay float32 (casts around them)
CUSTOM_NODE_PRECISIONS = ("fp16",)
#: the largest finite float16
FP16_MAX = 65504.0

#: op types that always run in float32: normalisation (statistics), softmax, DFT, statistic reductions
ISLAND_OPS = frozenset({
    "LayerNormalization", "GroupNormalization", "InstanceNormalization", "RMSNormalization", "MeanVarianceNormalization",
    "LpNormalization", "ReduceMean", "ReduceSumSquare", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
    "Softmax", "LogSoftmax", "DFT", "STFT",
})
#: layers that carry weights (and their weight-free forms: attention products, the front's resize matrices)
COMPUTE_OPS = frozenset({"Conv", "ConvTranspose", "MatMul", "Gemm", "Einsum"})
#: products that are a DFT when one operand is a trigonometric matrix
PRODUCT_OPS = frozenset({"MatMul", "Gemm", "Einsum"})
#: ops that only move or select values: exact in any type
LAYOUT_OPS = frozenset({"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Slice", "Gather", "Concat", "Split", "Identity", "Expand", "Tile"})
#: nodes whose outputs carry no data of their inputs (only sizes)
SHAPE_OPS = frozenset({"Shape", "Size"})
#: two casts a -> b -> c equal one cast a -> c when b holds every value of a exactly
_EXACT_IN_FLOAT32 = {"BOOL", "INT8", "UINT8", "INT16", "UINT16", "FLOAT16", "BFLOAT16", "FLOAT"}


def element_type(precision: str) -> int:
    """ONNX element type of ``precision`` (``fp32`` / ``fp16`` / ``bf16``)."""
    onnx = require("onnx")
    return {"fp32": onnx.TensorProto.FLOAT, "fp16": onnx.TensorProto.FLOAT16, "bf16": onnx.TensorProto.BFLOAT16}[precision]


def _convert(arr: np.ndarray, elem: int, name: str):
    """A TensorProto ``name`` holding ``arr`` in type ``elem`` (float32, float16 clipped to +-65504, or bfloat16
    rounded to nearest even: the top 16 bits of the float32, no ml_dtypes needed)."""
    onnx = require("onnx")
    arr = np.asarray(arr, np.float32)
    if elem == onnx.TensorProto.FLOAT:
        return onnx.numpy_helper.from_array(arr, name)
    if elem == onnx.TensorProto.FLOAT16:
        finite = np.isfinite(arr)
        if np.any(np.abs(arr[finite]) > FP16_MAX):
            log.warning("constant %s has values beyond the float16 range; clipped to +-%g", name, FP16_MAX)
        return onnx.numpy_helper.from_array(np.where(finite, np.clip(arr, -FP16_MAX, FP16_MAX), arr).astype(np.float16), name)
    bits = np.ascontiguousarray(arr).view(np.uint32).astype(np.uint64)
    top = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    top = np.where(np.isnan(arr), np.uint16(0x7FC0), top)  # NaN stays a (quiet) NaN
    tensor = onnx.helper.make_tensor(name, onnx.TensorProto.BFLOAT16, arr.shape, top.tobytes(), raw=True)
    return tensor


class _Slots:
    """The schema view of one node: which inputs / outputs share the type of the node's data (its primary
    type constraint), which inputs take any type (``Shape``, ``Cast``), the rest keep their own types."""

    def __init__(self, node, schema):
        n_in, n_out = len(node.input), len(node.output)
        if schema is None:  # a custom-domain node: every float input and output is data
            self.data_in, self.data_out, self.free_in, self.allowed = set(range(n_in)), set(range(n_out)), set(), set()
            return
        ins = [_formal(schema.inputs, i).type_str for i in range(n_in)]
        outs = [_formal(schema.outputs, i).type_str for i in range(n_out)]
        params = {c.type_param_str for c in schema.type_constraints}
        primary = outs[0] if outs and outs[0] in params else next((t for t in ins if t in params), None)
        self.data_in = {i for i, t in enumerate(ins) if t == primary}
        self.data_out = {i for i, t in enumerate(outs) if t == primary}
        once = {t for t in params if ins.count(t) == 1 and t not in outs}
        self.free_in = {i for i, t in enumerate(ins) if t in once and t != primary}
        self.allowed = {c.type_param_str: set(c.allowed_type_strs) for c in schema.type_constraints}.get(primary, set())


def _constant_value(attr, onnx) -> tuple[np.ndarray, int] | None:
    """(value, element type) of a Constant node's attribute; None for sparse and string constants."""
    if attr.name == "value":
        return onnx.numpy_helper.to_array(attr.t), attr.t.data_type
    if attr.name in ("value_float", "value_floats"):
        return np.array(onnx.helper.get_attribute_value(attr), np.float32), onnx.TensorProto.FLOAT
    if attr.name in ("value_int", "value_ints"):
        return np.array(onnx.helper.get_attribute_value(attr), np.int64), onnx.TensorProto.INT64
    return None


def _formal(params, i):
    """The formal parameter of actual position ``i`` (the last one repeats when variadic)."""
    return params[min(i, len(params) - 1)]


class _Pass:
    def __init__(self, model, precision: str):
        onnx = require("onnx")
        self.onnx, self.model = onnx, model
        self.low = element_type(precision)
        self.custom_types = {element_type(p) for p in CUSTOM_NODE_PRECISIONS}
        self.low_str = {onnx.TensorProto.FLOAT16: "tensor(float16)", onnx.TensorProto.BFLOAT16: "tensor(bfloat16)"}[self.low]
        g = model.graph
        self.opset = {o.domain or "": o.version for o in model.opset_import}
        self.types: dict[str, int] = {}
        for vi in (*g.input, *g.output, *g.value_info):
            self.types[vi.name] = vi.type.tensor_type.elem_type
        self.static: dict[str, np.ndarray] = {}
        for init in g.initializer:
            self.types[init.name] = init.data_type
            self.static[init.name] = onnx.numpy_helper.to_array(init)
        for node in g.node:
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and node.attribute:
                value = _constant_value(node.attribute[0], onnx)
                if value is not None:
                    self.static[node.output[0]], self.types[node.output[0]] = value
        self.graph_inputs = {i.name for i in g.input}
        self.graph_outputs = {o.name for o in g.output}
        self.consumers: dict[str, list[int]] = defaultdict(list)
        for k, node in enumerate(g.node):
            if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
                raise ValueError(f"node {node.name or node.op_type} holds a subgraph; the precision pass handles flat graphs only")
            for t in node.input:
                self.consumers[t].append(k)

    # --- helpers ---------------------------------------------------------------------------------------
    def is_f32(self, name: str) -> bool:
        return bool(name) and self.types.get(name) == self.onnx.TensorProto.FLOAT

    def schema(self, node):
        if node.domain not in ("", "ai.onnx"):
            return None
        return self.onnx.defs.get_schema(node.op_type, self.opset.get("", 1), "")

    def tail(self, const: set[str]) -> set[int]:
        """Nodes after the last layer with weights: every consumer of every output is a tail node or the graph."""
        nodes, tail = self.model.graph.node, set()
        for k in range(len(nodes) - 1, -1, -1):
            node = nodes[k]
            if node.op_type in COMPUTE_OPS or self.schema(node) is None or all(o in const for o in node.output):
                continue
            outs = [o for o in node.output if o]
            reaches = any(o in self.graph_outputs or self.consumers[o] for o in outs)
            if reaches and all(c in tail for o in outs for c in self.consumers[o]):
                tail.add(k)
        return tail

    def foldable_batchnorm(self, node) -> bool:
        """Inference BatchNormalization with constant scale, bias, mean and variance (no statistics computed)."""
        training = any(a.name == "training_mode" and a.i for a in node.attribute)
        return not training and len(node.output) == 1 and all(t in self.static for t in node.input[1:5])

    def fold_batchnorm(self, node) -> list[str]:
        """New (scale, bias, mean, variance) initializers in the reduced type for a reduced BatchNormalization:
        its statistics folded in float32 into ``s = scale / sqrt(var + eps)``, ``b = bias - mean * s`` and the node
        given mean 0 and variance 1 (the factor ``1 / sqrt(1 + eps)`` that remains is within 1 + eps / 2 of 1).

        Rounding s and b once keeps the statistics' precision (a variance of 1e-6 stored in float16, spacing 2**-24 there, could be off by 3 %), and every
        input then has the tensor's type: the onnx-tensorrt importer's same-type path (``batchnormWeightHelper``).
        """
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        scale, bias, mean, var = (self.static[t].astype(np.float64) for t in node.input[1:5])
        s = scale / np.sqrt(var + eps)
        folded = {"scale": s, "bias": bias - mean * s, "mean": np.zeros_like(s), "var": np.ones_like(s)}
        names = []
        for key, value in folded.items():
            name = f"{node.output[0]}__bn_{key}"
            self.new_inits.append(_convert(value, self.low, name))
            self.types[name] = self.low
            names.append(name)
        return names

    # --- the pass --------------------------------------------------------------------------------------
    def run(self):
        onnx, g = self.onnx, self.model.graph
        FLOAT, LOW = onnx.TensorProto.FLOAT, self.low
        nodes = [onnx.NodeProto.FromString(n.SerializeToString()) for n in g.node]
        const = set(self.static)  # weights: initializers, constants and what is computed from them alone
        for node in nodes:
            if node.input and all(not t or t in const for t in node.input):
                const.update(o for o in node.output if o)
        tail = self.tail(const)
        low: set[str] = set()  # float32 tensors of the input graph that become reduced
        data_dep = set(self.graph_inputs)  # depends on the values (not only the sizes) of the graph inputs
        trig: set[str] = set()  # shape-only trigonometric matrices (DFT matrices)
        decision: dict[int, tuple[bool, _Slots | None]] = {}
        wants: dict[str, set[int]] = defaultdict(set)  # weight tensor -> the types its consumers take it in

        def want(node, reduced: bool, slots: _Slots) -> None:
            for i, t in enumerate(node.input):
                if self.is_f32(t) and t in const and i not in slots.free_in:
                    wants[t].add(LOW if reduced and i in slots.data_in else FLOAT)

        # 1. forward over the computed nodes (rules 1-3 of the module docstring)
        for k, node in enumerate(nodes):
            ins = list(node.input)
            if node.op_type not in SHAPE_OPS and any(t in data_dep for t in ins):
                data_dep.update(o for o in node.output if o)
            if not any(t in data_dep for t in ins) and (node.op_type in ("Cos", "Sin") or (any(t in trig for t in ins) and node.op_type not in PRODUCT_OPS)):
                trig.update(o for o in node.output if o)
            if node.op_type == "Constant" or all(o in const for o in node.output if o):
                continue
            if node.op_type == "Cast":
                to = next(a for a in node.attribute if a.name == "to")
                if self.is_f32(ins[0]) and to.i == FLOAT and ins[0] in low:  # float32 -> float32: follows its input
                    to.i = LOW
                    low.add(node.output[0])
                decision[k] = (False, None)
                continue
            slots = _Slots(node, self.schema(node))
            f_in = [ins[i] for i in sorted(slots.data_in) if i < len(ins) and self.is_f32(ins[i])]
            f_out = [node.output[i] for i in sorted(slots.data_out) if self.is_f32(node.output[i])]
            live = [t for t in f_in if t not in const]
            if not f_in and not f_out:
                reduced = False
            elif node.op_type in ISLAND_OPS or k in tail or (node.op_type == "BatchNormalization" and not self.foldable_batchnorm(node)):
                reduced = False
            elif node.op_type in PRODUCT_OPS and any(t in trig for t in f_in):
                reduced = False  # a DFT-matrix product
            elif slots.allowed and self.low_str not in slots.allowed:
                reduced = False  # no reduced form in this opset (Einsum for bfloat16)
            elif self.schema(node) is None and self.low not in self.custom_types:
                reduced = False  # the plugins take float32 then
            elif node.op_type in COMPUTE_OPS or self.schema(node) is None:  # a weight or a reduced operand
                reduced = any(t in low for t in live) or len(live) < len(f_in)
            else:
                reduced = any(t in low for t in live)
            decision[k] = (reduced, slots)
            want(node, reduced, slots)
            if reduced:
                low.update(f_out)
        # 2. backward over the weight computations (e.g. the factorised dynamic conv's re-laid-out kernels): layout
        #    ops run in the reduced type when every consumer takes them so (exact: they only move values)
        for k in range(len(nodes) - 1, -1, -1):
            node = nodes[k]
            if k in decision or node.op_type == "Constant":
                continue
            slots = _Slots(node, self.schema(node))
            f_out = [node.output[i] for i in sorted(slots.data_out) if self.is_f32(node.output[i])]
            reduced = node.op_type in LAYOUT_OPS and bool(f_out) and all(wants[o] == {LOW} for o in f_out)
            decision[k] = (reduced, slots)
            want(node, reduced, slots)
            if reduced:
                low.update(f_out)
        # 3. rewrite: casts (shared per tensor) and converted weights where a node takes another type
        self.casts, self.new_inits, new_nodes = {}, [], []

        def as_type(name: str, elem: int) -> str:
            if (LOW if name in low else self.types.get(name, 0)) == elem:
                return name
            key = (name, elem)
            if key not in self.casts:
                out = f"{name}__{onnx.TensorProto.DataType.Name(elem).lower()}"
                if name in self.static:
                    self.new_inits.append(_convert(self.static[name], elem, out))
                else:
                    new_nodes.append(onnx.helper.make_node("Cast", [name], [out], to=elem, name=f"{out}__cast"))
                self.types[out] = elem
                self.casts[key] = out
            return self.casts[key]

        for k, node in enumerate(nodes):
            reduced, slots = decision.get(k, (False, None))
            if reduced and node.op_type == "BatchNormalization":
                node.input[1:5] = self.fold_batchnorm(node)
            if slots is not None:
                for i, t in enumerate(node.input):
                    if self.is_f32(t) and i not in slots.free_in:
                        node.input[i] = as_type(t, LOW if reduced and i in slots.data_in else FLOAT)
            new_nodes.append(node)
        return self.finish(new_nodes, low)

    def finish(self, nodes, low: set[str]):
        onnx, g = self.onnx, self.model.graph
        FLOAT = onnx.TensorProto.FLOAT
        out_map = {}
        for o in g.output:  # the graph's outputs keep float32: cast inside
            if o.name in low:
                out_map[o.name] = f"{o.name}__{onnx.TensorProto.DataType.Name(self.low).lower()}"
        for node in nodes:
            node.input[:] = [out_map.get(t, t) for t in node.input]
            node.output[:] = [out_map.get(t, t) for t in node.output]
        for name, inner in out_map.items():
            nodes.append(onnx.helper.make_node("Cast", [inner], [name], to=FLOAT, name=f"{name}__cast"))
            low.discard(name)
            low.add(inner)
            self.types[inner] = self.low
        nodes = _fold_casts(nodes, self.types, self.graph_outputs, onnx)
        inits = [i for i in g.initializer] + self.new_inits
        nodes, inits = _drop_unused(nodes, inits, self.graph_outputs)
        shapes = {vi.name: vi for vi in g.value_info}
        value_info = []
        for node in nodes:
            for o in node.output:
                if not o or o in self.graph_outputs:
                    continue
                src = shapes.get(o) or shapes.get(node.input[0] if node.op_type == "Cast" else "")
                vi = onnx.ValueInfoProto()
                if src is not None:
                    vi.CopyFrom(src)
                vi.name = o
                elem = self.low if o in low else self.types.get(o, 0)
                if elem:
                    vi.type.tensor_type.elem_type = elem
                    value_info.append(vi)
        out = onnx.ModelProto()
        out.CopyFrom(self.model)
        del out.graph.node[:], out.graph.initializer[:], out.graph.value_info[:]
        out.graph.node.extend(nodes)
        out.graph.initializer.extend(inits)
        out.graph.value_info.extend(value_info)
        return out


def _fold_casts(nodes, types, graph_outputs, onnx):
    """Cast(a -> b) then Cast(b -> c) becomes Cast(a -> c) where that is the same (see _EXACT_IN_FLOAT32), and
    a Cast back to the type it started from disappears."""
    name = onnx.TensorProto.DataType.Name
    producer = {o: n for n in nodes for o in n.output}
    rename = {}
    for node in nodes:
        node.input[:] = [rename.get(t, t) for t in node.input]
        if node.op_type != "Cast":
            continue
        first = producer.get(node.input[0])
        if first is None or first.op_type != "Cast":
            continue
        a, b = types.get(first.input[0], 0), next(x.i for x in first.attribute if x.name == "to")
        c = next(x for x in node.attribute if x.name == "to")
        exact = name(b) in ("FLOAT", "DOUBLE") and (
            name(a) in _EXACT_IN_FLOAT32 or (name(a) in ("INT32", "INT64") and name(c.i) == "FLOAT16")  # ints beyond 2**24 are inf in float16 either way
        )
        if not exact:
            continue
        if c.i == a and node.output[0] not in graph_outputs:
            rename[node.output[0]] = first.input[0]
        else:
            node.input[0] = first.input[0]
    return nodes


def _drop_unused(nodes, inits, graph_outputs):
    """Remove nodes and initializers nothing reads (walking back from the graph outputs)."""
    needed = set(graph_outputs)
    kept = []
    for node in reversed(nodes):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(t for t in node.input if t)
    return kept[::-1], [i for i in inits if i.name in needed]


def reduce_precision(model, precision: str):
    """The ``precision`` form of a float32 ONNX model (an ``onnx.ModelProto``; a new one is returned).

    Args:
        model: a float32 graph (the graph contract of :mod:`inpaint.export.contract`); local functions are
            inlined first; control-flow subgraphs are not supported.
        precision: ``fp32`` (returned unchanged), ``fp16`` or ``bf16`` (needs opset >= :data:`BF16_MIN_OPSET`).
    Returns:
        the rewritten model; inputs and outputs keep their float32 types.
    Raises:
        ValueError: unknown precision, bf16 below opset 22, or a graph with subgraphs.
    """
    onnx = require("onnx")
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}: one of {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return model
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if precision == "bf16" and opset < BF16_MIN_OPSET:
        raise ValueError(f"bf16 needs opset {BF16_MIN_OPSET} or newer (Conv has no bfloat16 form before), the graph has {opset}")
    if model.functions:
        model = onnx.inliner.inline_local_functions(model)
    model = onnx.shape_inference.infer_shapes(model)
    return _Pass(model, precision).run()


def graph_precision(model) -> str:
    """``fp16`` / ``bf16`` when the graph computes in that type (any tensor or initializer of it), else ``fp32``."""
    onnx = require("onnx")
    found = {vi.type.tensor_type.elem_type for vi in model.graph.value_info} | {i.data_type for i in model.graph.initializer}
    found |= {a.i for n in model.graph.node if n.op_type == "Cast" for a in n.attribute if a.name == "to"}
    if onnx.TensorProto.BFLOAT16 in found:
        return "bf16"
    return "fp16" if onnx.TensorProto.FLOAT16 in found else "fp32"


def emulate_in_float32(model):
    """A float32 twin of a reduced-precision graph that rounds like it: every float16 / bfloat16 tensor is
    computed in float32 and rounded to its type (Cast there and back) right after the node that makes it;
    reduced weights become float32 holding the same values.

    For checks where ONNX Runtime's CPU cannot run the reduced graph itself (no bfloat16 kernels; no float16
    in onnxruntime-extensions' Python ops). It shows what the reduced storage of every intermediate costs;
    arithmetic inside one node is float32, as TensorRT's FP16/BF16 kernels accumulate (not checked here).
    """
    onnx = require("onnx")
    FLOAT = onnx.TensorProto.FLOAT
    reduced = {onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16}
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    types = {vi.name: vi.type.tensor_type.elem_type for vi in (*g.input, *g.output, *g.value_info)}
    for init in g.initializer:
        if init.data_type in reduced:
            init.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(init).astype(np.float32), init.name))
    nodes = []
    for node in g.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type in reduced:
                a.t.CopyFrom(onnx.numpy_helper.from_array(onnx.numpy_helper.to_array(a.t).astype(np.float32), a.t.name))
        rounding = []
        for i, o in enumerate(node.output):
            elem = types.get(o)
            if node.op_type == "Cast":
                elem = next(a.i for a in node.attribute if a.name == "to")
            if elem in reduced:
                node.output[i] = f"{o}__emulated"
                rounding += [
                    onnx.helper.make_node("Cast", [f"{o}__emulated"], [f"{o}__rounded"], to=elem),
                    onnx.helper.make_node("Cast", [f"{o}__rounded"], [o], to=FLOAT),
                ]
        if node.op_type == "Cast" and rounding:  # the cast itself becomes the rounding
            rounding[0].input[0] = node.input[0]
            nodes += rounding
            continue
        nodes += [node, *rounding]
    del g.node[:]
    g.node.extend(nodes)
    for vi in g.value_info:
        if vi.type.tensor_type.elem_type in reduced:
            vi.type.tensor_type.elem_type = FLOAT
    return out
