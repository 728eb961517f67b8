"""MaskedAttentionAggregate: the matmul form, the NumPy kernel, the ONNX Runtime node and the exported graphs
against the authors' unfold + grouped transposed-convolution form (reference.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from inpaint.ops.attention_aggregate import (
    masked_attention_aggregate,
    masked_attention_aggregate_matmul,
    masked_attention_aggregate_reference,
    resolve_rate,
)
from inpaint.ops.attention_aggregate.matmul import paste_matrix
from inpaint.ops.attention_aggregate.numpy_impl import masked_attention_aggregate_numpy
from inpaint.ops.mode import export_mode

ROOT = Path(__file__).resolve().parents[2]
G = 16  # FAR's token grid: 16 x 16 MAE tokens


def _case(rh, rw, c=8, n=2, g=G, dtype=torch.float32, seed=0):
    """Features with std 1 and softmax scores (rows sum to 1, peaked like a trained MAE's attention)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, g * rh, g * rw, generator=gen, dtype=dtype)
    scores = torch.softmax(3 * torch.randn(n, g * g, g * g, generator=gen, dtype=dtype), -1)
    return x, scores


@pytest.mark.parametrize("rate", [1, 2, 3, 4])
def test_forms_agree_square(rate):
    x, scores = _case(rate, rate)
    ref = masked_attention_aggregate_reference(x, scores)
    assert ref.shape == x.shape and ref.std() > 0.05  # outputs are not trivially small, so 1e-5 is a real bound
    assert (masked_attention_aggregate_matmul(x, scores) - ref).abs().max().item() < 1e-5
    assert (masked_attention_aggregate(x, scores, (rate, rate)) - ref).abs().max().item() < 1e-5


@pytest.mark.parametrize("rate", [(1, 2), (3, 2), (2, 5), (4, 1)])
def test_forms_agree_non_square(rate):
    x, scores = _case(*rate)
    ref = masked_attention_aggregate_reference(x, scores, rate)
    assert ref.shape == x.shape
    assert (masked_attention_aggregate_matmul(x, scores, rate) - ref).abs().max().item() < 1e-5


@pytest.mark.parametrize("rate", [(2, 2), (3, 4)])
def test_identity_attention_gives_back_the_interior(rate):
    """Each token pasting its own patch: pixels under 2 x 2 patches get 4 copies of themselves, / 4 = x."""
    rh, rw = rate
    x, _ = _case(rh, rw, n=1)
    eye = torch.eye(G * G).unsqueeze(0)
    ph, pw = (rh + 1) // 2, (rw + 1) // 2  # patch offsets ceil(r / 2)
    inner = (slice(None), slice(None), slice(rh - ph, G * rh - ph), slice(rw - pw, G * rw - pw))
    for form in (masked_attention_aggregate_reference, masked_attention_aggregate_matmul):
        y = form(x, eye)
        torch.testing.assert_close(y[inner], x[inner], atol=1e-6, rtol=0)
        assert (y - x).abs().max() > 0.1  # the border differs (covered by fewer patches, still / 4)


def test_one_hot_attention_copies_the_attended_patch():
    """Every query attends to one key only: each query's place receives that key's patch."""
    r, key = 2, 5 * G + 7  # token (5, 7)
    x, _ = _case(r, r, n=1)
    scores = torch.zeros(1, G * G, G * G)
    scores[0, :, key] = 1.0
    y = masked_attention_aggregate_matmul(x, scores)
    # interior output pixels sum 4 pastes of the key's patch, one from each quadrant of it
    patch = x[0, :, 5 * r - 1 : 5 * r + 3, 7 * r - 1 : 7 * r + 3]  # rows i*r - p .. + 2r, p = 1
    quad = (patch[:, :2, :2] + patch[:, :2, 2:] + patch[:, 2:, :2] + patch[:, 2:, 2:]) / 4
    torch.testing.assert_close(y[0, :, 3:5, 3:5], quad, atol=1e-6, rtol=0)
    torch.testing.assert_close(y[0, :, 13:15, 21:23], quad, atol=1e-6, rtol=0)  # same everywhere inside


def test_paste_matrix_is_the_overlap_add_of_the_four_shifted_scores():
    """P[m, b] = sum over d in {0, 1}^2 of scores[m - d, b - d] / 4 on the (g+1) x (g+1) block grid, written out."""
    g = 3
    _, scores = _case(1, 1, n=1, g=g, dtype=torch.float64)
    want = torch.zeros((g + 1) ** 2, (g + 1) ** 2, dtype=torch.float64)
    for qi in range(g):
        for qj in range(g):
            for ki in range(g):
                for kj in range(g):
                    for dy in (0, 1):
                        for dx in (0, 1):
                            m, b = (qi + dy) * (g + 1) + qj + dx, (ki + dy) * (g + 1) + kj + dx
                            want[m, b] += scores[0, qi * g + qj, ki * g + kj] / 4
    assert (paste_matrix(scores, g)[0] - want).abs().max() < 1e-15 and want.sum() > 0


def test_rate_is_checked_and_derived():
    x, scores = _case(2, 3, n=1)
    assert resolve_rate(32, 48, 256) == (2, 3) == resolve_rate(32, 48, 256, (0, 3))
    torch.testing.assert_close(masked_attention_aggregate_matmul(x, scores, (2, 3)), masked_attention_aggregate_matmul(x, scores))
    with pytest.raises(ValueError, match="rate"):
        masked_attention_aggregate_matmul(x, scores, (3, 2))
    with pytest.raises(ValueError, match="multiples"):
        masked_attention_aggregate_matmul(x[..., :40], scores)
    with pytest.raises(ValueError, match="square token grid"):
        masked_attention_aggregate_matmul(x, scores[:, :200, :200])


def test_gradcheck_float64_matmul_form():
    for rate, g in [((2, 3), 2), ((1, 1), 3), ((3, 1), 2)]:  # small token grids keep the Jacobians small
        x, scores = _case(*rate, c=2, n=1, g=g, dtype=torch.float64)
        args = (x.requires_grad_(), scores.requires_grad_())
        assert torch.autograd.gradcheck(lambda a, s: masked_attention_aggregate_matmul(a, s, rate), args)


@pytest.mark.parametrize("rate", [(1, 1), (2, 2), (3, 3), (4, 4), (3, 2), (1, 4)])
def test_numpy_matches_reference(rate):
    x, scores = _case(*rate)
    y = masked_attention_aggregate_numpy(x.numpy(), scores.numpy())
    assert y.dtype == np.float32 and y.shape == tuple(x.shape) and y.flags.c_contiguous
    assert np.abs(y - masked_attention_aggregate_reference(x, scores).numpy()).max() < 1e-5


# --- ONNX Runtime ----------------------------------------------------------------------------------------


@pytest.fixture
def ort_modules():
    pytest.importorskip("onnxruntime_extensions")
    return pytest.importorskip("onnxruntime")


def _one_node_model(path: Path, c: int, rate: list[int]) -> Path:
    """A model with ONE inpaint::MaskedAttentionAggregate node, x and scores as inputs, dynamic N, H, W."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    node = helper.make_node("MaskedAttentionAggregate", ["x", "scores"], ["y"], domain="inpaint", rate=rate)
    graph = helper.make_graph(
        [node],
        "one_attention_aggregate",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", c, "H", "W"]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", G * G, G * G]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("inpaint", 1)])
    model.ir_version = 10  # ONNX Runtime 1.31 reads IR <= 13; opset 18 needs IR >= 8
    onnx.save(model, path)
    return path


def test_onnxruntime_node_matches_reference(tmp_path, ort_modules):
    from inpaint.ops.attention_aggregate import ort as aa_ort
    from inpaint.ops.ort_custom_ops import custom_op_session_options, graph_custom_ops

    aa_ort.register()
    aa_ort.register()  # a second definition would break every later session; register() must not make one
    path = _one_node_model(tmp_path / "aa.onnx", 8, [0, 0])
    ops = graph_custom_ops(path)
    assert ops == {"MaskedAttentionAggregate"}
    sess = ort_modules.InferenceSession(str(path), custom_op_session_options(ops), providers=["CPUExecutionProvider"])
    for rate in [(2, 3), (1, 1), (4, 4)]:
        x, scores = _case(*rate)
        (y,) = sess.run(None, {"x": x.numpy(), "scores": scores.numpy()})
        assert np.abs(y - masked_attention_aggregate_reference(x, scores).numpy()).max() < 1e-5
    # a session for every inpaint op (both kernels in one process) still builds
    ort_modules.InferenceSession(str(path), custom_op_session_options(), providers=["CPUExecutionProvider"])


class _Tiny(torch.nn.Module):
    """Conv features, softmax scores, the aggregation and FAR's residual add (alpha = 0.5 here)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        f = self.conv(x)
        return f + 0.5 * masked_attention_aggregate(f, torch.softmax(logits, -1))


def _export(model: torch.nn.Module, custom_nodes: bool):
    dim = torch.export.Dim
    n = dim("batch", min=1, max=64)
    shapes = {"x": {0: n, 2: G * dim("h_rate", min=1, max=64), 3: G * dim("w_rate", min=1, max=64)}, "logits": {0: n}}
    example = (torch.randn(2, 3, 2 * G, 3 * G), torch.randn(2, G * G, G * G))
    with export_mode(custom_nodes=custom_nodes), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(model, example, dynamo=True, input_names=["x", "logits"], output_names=["y"], dynamic_shapes=shapes, verbose=False)
    proto = program.model_proto
    proto.ir_version = min(proto.ir_version, 10)
    return proto


@pytest.mark.parametrize("custom_nodes", [True, False], ids=["plugin", "standard"])
def test_dynamic_export_runs_in_onnxruntime(tmp_path, ort_modules, custom_nodes):
    import onnx

    from inpaint.ops.ort_custom_ops import custom_op_session_options, graph_custom_ops

    torch.manual_seed(0)
    model = _Tiny().eval()
    proto = _export(model, custom_nodes)
    custom = [nd for nd in proto.graph.node if nd.domain == "inpaint"]
    if custom_nodes:
        assert [nd.op_type for nd in custom] == ["MaskedAttentionAggregate"]
        assert [list(a.ints) for a in custom[0].attribute if a.name == "rate"] == [[0, 0]]  # sizes known at run time only
    else:
        assert not custom and {nd.domain for nd in proto.graph.node} <= {"", "ai.onnx"}
        assert not {"ConvTranspose", "Col2Im"} & {nd.op_type for nd in proto.graph.node}
    path = tmp_path / "tiny.onnx"
    onnx.save(proto, path)
    sess = ort_modules.InferenceSession(str(path), custom_op_session_options(graph_custom_ops(path)), providers=["CPUExecutionProvider"])
    for n, rh, rw in [(2, 2, 3), (1, 1, 4), (1, 3, 3)]:  # odd and even rates, square and not, from one graph
        x, logits = torch.randn(n, 3, G * rh, G * rw), torch.randn(n, G * G, G * G)
        with torch.no_grad():
            f = model.conv(x)
            expected = f + 0.5 * masked_attention_aggregate_reference(f, torch.softmax(logits, -1))
        (y,) = sess.run(None, {"x": x.numpy(), "logits": logits.numpy()})
        assert np.abs(y - expected.numpy()).max() < 1e-5


def test_kernel_runs_without_torch_and_the_process_exits_cleanly(tmp_path):
    """The runtime path (graph scan, session options, NumPy kernel) works with torch made unimportable; a session
    for this op, then one for every op, then a clean exit (an op defined after the library was loaded crashed
    the interpreter at exit)."""
    pytest.importorskip("onnxruntime_extensions")
    path = _one_node_model(tmp_path / "aa.onnx", 4, [2, 1])
    x, scores = _case(2, 1, c=4, n=1)
    np.savez(tmp_path / "io.npz", x=x.numpy(), s=scores.numpy(), ref=masked_attention_aggregate_reference(x, scores).numpy())
    script = f"""
import sys
sys.modules['torch'] = None
import numpy as np, onnxruntime
import inpaint.ops.ort_custom_ops as oco
ops = oco.graph_custom_ops({str(path)!r})
d = np.load({str(tmp_path / 'io.npz')!r})
sess = onnxruntime.InferenceSession({str(path)!r}, oco.custom_op_session_options(ops), providers=['CPUExecutionProvider'])
err = float(np.abs(sess.run(None, {{'x': d['x'], 'scores': d['s']}})[0] - d['ref']).max())
assert err < 1e-5, err
onnxruntime.InferenceSession({str(path)!r}, oco.custom_op_session_options(), providers=['CPUExecutionProvider'])
assert 'torch' not in [n.split('.')[0] for n, mod in sys.modules.items() if mod is not None]
print('ok', err)
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.stdout.startswith("ok"), proc.stderr
    assert proc.returncode == 0, proc.stderr
