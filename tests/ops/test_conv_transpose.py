"""The phase form of the transposed convolution (exported graphs) against ``F.conv_transpose2d``."""


import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inpaint.ops.conv_transpose import conv_transpose2d, conv_transpose2d_phases, phase_taps
from inpaint.ops.mode import export_mode

from tests.ops.export_lowering import export_standard

# (k, stride, padding, output_padding): MADF's decoders, the ACR's up convs, and other exact geometries
GEOMETRIES = [(4, 2, 1, 0), (3, 2, 1, 1), (2, 2, 0, 0), (6, 2, 2, 0), (5, 3, 1, 0), (1, 1, 0, 0)]


def test_phase_taps_cover_every_tap_once():
    for k, s, p, _ in GEOMETRIES:
        taps = sorted(t for _, ts in phase_taps(k, s, p) for t in ts)
        assert taps == list(range(k))
    assert phase_taps(4, 2, 1) == [(-1, [3, 1]), (0, [2, 0])]


@pytest.mark.parametrize("k,s,p,op", GEOMETRIES)
def test_phase_form_is_exact_in_float64(k, s, p, op):
    g = torch.Generator().manual_seed(k * 10 + s)
    x = torch.randn(2, 3, 5, 7, generator=g, dtype=torch.float64)
    w, b = torch.randn(3, 4, k, k, generator=g, dtype=torch.float64), torch.randn(4, generator=g, dtype=torch.float64)
    want = F.conv_transpose2d(x, w, b, s, p, op)
    got = conv_transpose2d_phases(x, w, b, s, p, op)
    assert got.shape == want.shape and (got - want).abs().max().item() < 1e-12
    assert (conv_transpose2d_phases(x, w, None, s, p, op) - F.conv_transpose2d(x, w, None, s, p, op)).abs().max().item() < 1e-12


@pytest.mark.parametrize("k,s,p,op", [(4, 2, 1, 0), (3, 2, 1, 1)])
def test_pointwise_per_phase_equals_pointwise_on_the_output(k, s, p, op):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 3, 6, 5, generator=g, dtype=torch.float64)
    w, b = torch.randn(3, 8, k, k, generator=g, dtype=torch.float64), torch.randn(8, generator=g, dtype=torch.float64)
    bn = nn.BatchNorm2d(4).double().eval()
    bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2), bn.weight.data.uniform_(-1, 1)

    def gate(y):  # FAR's gated deconv + BN + ReLU: a pointwise map from 8 to 4 channels
        f, t = torch.split(y, 4, dim=1)
        return torch.relu(bn(f * torch.sigmoid(t)))

    want = gate(F.conv_transpose2d(x, w, b, s, p, op))
    got = conv_transpose2d_phases(x, w, b, s, p, op, pointwise=gate)
    assert got.shape == want.shape == (2, 4, 6 * s, 5 * s) and (got - want).abs().max().item() < 1e-12
    module = nn.ConvTranspose2d(3, 8, k, s, p, output_padding=op).double()
    with torch.no_grad():
        assert torch.equal(conv_transpose2d(x, module, gate), gate(module(x)))  # eager: the module, then pointwise


def test_inexact_geometry_is_refused_and_dispatcher_falls_back():
    x, w = torch.randn(1, 2, 4, 4), torch.randn(2, 3, 3, 3)
    with pytest.raises(ValueError, match="k \\+ output_padding"):
        conv_transpose2d_phases(x, w, None, 2, 1, 0)  # 7 x 7 output: not 2x
    module = nn.ConvTranspose2d(2, 3, 3, 2, 1)
    with export_mode(custom_nodes=False):
        assert torch.equal(conv_transpose2d(x, module), module(x))


class _Up(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.ConvTranspose2d(3, 8, 4, 2, 1)
        self.b = nn.ConvTranspose2d(8, 5, 3, 2, 1, output_padding=1)

    def forward(self, x):
        return conv_transpose2d(torch.relu(conv_transpose2d(x, self.a)), self.b)


def test_export_has_no_conv_transpose_and_matches_at_two_sizes(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = _Up().eval()
    x = torch.randn(2, 3, 6, 9)
    with torch.no_grad():
        assert torch.equal(model(x), model.b(torch.relu(model.a(x))))  # eager: the modules themselves
    proto = export_standard(model, x, batch_dynamic=True, min_side=2)
    ops = [n.op_type for n in proto.graph.node]
    assert "ConvTranspose" not in ops and ops.count("Conv") == 8
    assert "Slice" not in ops  # every phase reads x itself, its offsets are the Conv's zero padding
    onnx.save(proto, tmp_path / "up.onnx")
    sess = ort.InferenceSession(str(tmp_path / "up.onnx"), providers=["CPUExecutionProvider"])
    for shape in [(1, 3, 16, 16), (3, 3, 5, 11)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            want = model(x).numpy()
        (y,) = sess.run(None, {"x": x.numpy()})
        assert y.shape == want.shape and np.abs(y - want).max() < 1e-5
