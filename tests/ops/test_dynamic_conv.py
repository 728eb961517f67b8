"""Both forms of the mask-aware dynamic convolution against each other, at every MADF level's shape."""

import pytest
import torch

from inpaint.ops.dynamic_conv import DynamicConvSpec, dynamic_conv, dynamic_conv_windows

# (C_in, C_out, k) of the paper's seven levels (DESIGN.md table); stride 2, pad k // 2, 16 mask channels
MADF_LEVELS = [(6, 16, 7), (16, 32, 5), (32, 64, 3), (64, 128, 3), (128, 128, 3)]


def _case(c_in, c_out, k, stride, pad, h, w, c_m=16, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    spec = DynamicConvSpec(c_in, c_out, c_m, k, stride, pad)
    ho, wo = spec.out_size(h, w)
    e = torch.randn(2, c_in, h, w, generator=g, dtype=dtype)
    m = torch.rand(2, c_m, ho, wo, generator=g, dtype=dtype)
    # scaled so that outputs have a standard deviation near 1, as the activations of a trained network
    weight = torch.randn(spec.generator_channels, c_m, 1, 1, generator=g, dtype=dtype) / (3 * (c_in * k * k * c_m) ** 0.5)
    bias = torch.randn(spec.generator_channels, generator=g, dtype=dtype) / (c_in * k * k) ** 0.5
    return e, m, weight, bias


@pytest.mark.parametrize("c_in,c_out,k", MADF_LEVELS)
@pytest.mark.parametrize("hw", [(16, 16), (13, 21)])
def test_forms_agree_at_madf_levels(c_in, c_out, k, hw):
    e, m, weight, bias = _case(c_in, c_out, k, 2, k // 2, *hw)
    ref = dynamic_conv_windows(e, m, weight, bias, k, 2, k // 2)
    out = dynamic_conv(e, m, weight, bias, k, 2, k // 2)
    assert out.shape == ref.shape == (2, c_out, (hw[0] + 1) // 2, (hw[1] + 1) // 2)
    assert (out - ref).abs().max().item() < 1e-5


@pytest.mark.parametrize("k,stride,pad", [(3, 1, 1), (5, 1, 0), (4, 3, 1), (1, 1, 0)])
def test_forms_agree_other_geometries(k, stride, pad):
    e, m, weight, bias = _case(5, 7, k, stride, pad, 11, 9, c_m=3)
    torch.testing.assert_close(dynamic_conv(e, m, weight, bias, k, stride, pad), dynamic_conv_windows(e, m, weight, bias, k, stride, pad), atol=1e-5, rtol=0)


def test_without_bias_and_per_window_semantics():
    """A constant mask feature makes every window's kernel the same: an ordinary conv."""
    e, m, weight, _ = _case(3, 4, 3, 1, 1, 8, 8, c_m=2)
    m = torch.ones_like(m)
    y = dynamic_conv(e, m, weight, None, 3, 1, 1)
    kernel = weight.sum(1).reshape(3, 3, 3, 4).permute(3, 0, 1, 2)  # sum_j W_j -> (C_out, C_in, k, k)
    torch.testing.assert_close(y, torch.nn.functional.conv2d(e, kernel, padding=1), atol=1e-5, rtol=0)


def test_gradcheck_float64_both_forms():
    e, m, weight, bias = _case(2, 3, 3, 2, 1, 5, 6, c_m=2, dtype=torch.float64)
    args = [t.clone().requires_grad_() for t in (e, m, weight, bias)]
    assert torch.autograd.gradcheck(lambda *a: dynamic_conv(*a, 3, 2, 1), args)
    assert torch.autograd.gradcheck(lambda *a: dynamic_conv_windows(*a, 3, 2, 1), args)


def test_mask_size_mismatch_is_an_error():
    e, m, weight, bias = _case(2, 3, 3, 2, 1, 8, 8, c_m=2)
    with pytest.raises(ValueError):
        dynamic_conv(e, m[..., :3, :], weight, bias, 3, 2, 1)


# --- the chunked form: bounded intermediates, same numbers --------------------------------------------------

from inpaint.ops.dynamic_conv.factorized import CHUNK_CHANNELS, group_chunks  # noqa: E402


def test_group_chunks_cover_every_group_once_within_budget():
    for groups, c_out, budget in [(17, 16, 64), (17, 128, 64), (17, 32, 64), (5, 3, 7), (17, 1, 10**6)]:
        chunks = group_chunks(groups, c_out, budget)
        assert [j for j0, j1 in chunks for j in range(j0, j1)] == list(range(groups))
        assert all((j1 - j0) * c_out <= max(budget, c_out) for j0, j1 in chunks)
    assert len(group_chunks(17, 16)) == 5  # MADF's first level at the default budget: 4 + 4 + 4 + 4 + 1 groups


@pytest.mark.parametrize("c_in,c_out,k", MADF_LEVELS)
@pytest.mark.parametrize("budget", [1, 40, CHUNK_CHANNELS, 10**6])
def test_chunked_form_equals_the_per_window_reference(c_in, c_out, k, budget):
    """Every MADF level, budgets from one group a chunk (1), uneven chunks (40) to one piece (10**6)."""
    e, m, weight, bias = _case(c_in, c_out, k, 2, k // 2, 13, 18)
    ref = dynamic_conv_windows(e, m, weight, bias, k, 2, k // 2)
    out = dynamic_conv(e, m, weight, bias, k, 2, k // 2, max_channels=budget)
    assert (out - ref).abs().max().item() < 1e-5


def test_gradcheck_float64_through_several_chunks():
    e, m, weight, bias = _case(2, 3, 3, 2, 1, 5, 6, c_m=4, dtype=torch.float64)
    args = [t.clone().requires_grad_() for t in (e, m, weight, bias)]
    assert len(group_chunks(5, 3, 7)) == 3
    assert torch.autograd.gradcheck(lambda *a: dynamic_conv(*a, 3, 2, 1, max_channels=7), args)


class _Level(torch.nn.Module):
    """One MADF first level (6 -> 16, k7 s2) as the model calls the op, for the export test."""

    def __init__(self, c_in=6, c_out=16, c_m=16, k=7):
        super().__init__()
        self.k = k
        self.mask_conv = torch.nn.Conv2d(3, c_m, k, 2, k // 2)
        self.gen = torch.nn.Conv2d(c_m, c_in * k * k * c_out, 1)
        with torch.no_grad():
            self.gen.weight.mul_(0.05)

    def forward(self, e, m):
        from inpaint.ops.dynamic_conv.op import mask_aware_dynamic_conv

        m = torch.relu(self.mask_conv(m))
        return mask_aware_dynamic_conv(e, m, self.gen.weight, self.gen.bias, self.k, 2, self.k // 2), m


def test_standard_export_is_chunked_dynamic_and_exact(tmp_path):
    """The standard-op ONNX graph holds one Conv per chunk, none wider than the budget, with dynamic H/W;
    ONNX Runtime at two sizes equals the per-window reference."""
    import warnings

    import numpy as np

    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from inpaint.ops.mode import export_mode

    torch.manual_seed(0)
    level = _Level().eval()
    dim = torch.export.Dim
    n, h, w = dim("n", min=1, max=64), dim("h", min=4, max=4096), dim("w", min=4, max=4096)
    shapes = {"e": {0: n, 2: h, 3: w}, "m": {0: n, 2: h, 3: w}}
    with export_mode(custom_nodes=False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(level, (torch.randn(2, 6, 40, 60), torch.rand(2, 3, 40, 60)), dynamo=True,
                                    input_names=["e", "m"], output_names=["y", "mf"], dynamic_shapes=shapes, verbose=False)
    proto = program.model_proto
    proto.ir_version = min(proto.ir_version, 10)
    inits = {i.name: tuple(i.dims) for i in proto.graph.initializer}
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    assert len(convs) == 1 + len(group_chunks(17, 16))  # mask branch + one per chunk
    inferred = onnx.shape_inference.infer_shapes(proto)
    widths = {v.name: v.type.tensor_type.shape.dim[1].dim_value for v in inferred.graph.value_info if len(v.type.tensor_type.shape.dim) >= 2}
    assert max(widths.get(c.output[0], inits.get(c.input[1], (0,))[0]) for c in convs) <= CHUNK_CHANNELS
    assert all(d <= CHUNK_CHANNELS for v, d in widths.items())  # no intermediate wider than the budget
    onnx.save(proto, tmp_path / "level.onnx")
    sess = ort.InferenceSession(str(tmp_path / "level.onnx"), providers=["CPUExecutionProvider"])
    for hw in [(32, 32), (26, 42)]:
        e, m = torch.randn(2, 6, *hw), torch.rand(2, 3, *hw)
        y, mf = sess.run(None, {"e": e.numpy(), "m": m.numpy()})
        with torch.no_grad():
            ref = dynamic_conv_windows(e, torch.from_numpy(mf), level.gen.weight, level.gen.bias, 7, 2, 3)
        assert y.shape == tuple(ref.shape) and np.abs(y - ref.numpy()).max() < 1e-5
