"""The space-to-depth form of a convolution with few output channels (exported graphs) against ``F.conv2d``."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inpaint.ops.conv_s2d import (conv2d_few_outputs, conv2d_few_outputs_of_phases, conv2d_s2d, reflect_pad_s2d_from_phases,
                                  s2d_kernel)
from inpaint.ops.conv_transpose import conv_transpose2d_phase_outputs
from inpaint.ops.mode import export_mode

from tests.ops.export_lowering import export_standard


@pytest.mark.parametrize("k", [1, 3, 5, 7])
@pytest.mark.parametrize("hw", [(10, 12), (16, 6)])
def test_s2d_form_is_exact_in_float64(k, hw):
    g = torch.Generator().manual_seed(k)
    x = torch.randn(2, 5, hw[0] + k - 1, hw[1] + k - 1, generator=g, dtype=torch.float64)
    w, b = torch.randn(3, 5, k, k, generator=g, dtype=torch.float64), torch.randn(3, generator=g, dtype=torch.float64)
    want = F.conv2d(x, w, b)
    got = conv2d_s2d(x, w, b)
    assert got.shape == want.shape and (got - want).abs().max().item() < 1e-12
    assert (conv2d_s2d(x, w, None) - F.conv2d(x, w)).abs().max().item() < 1e-12

def test_s2d_kernel_keeps_every_tap_once():
    w = torch.arange(2 * 3 * 7 * 7, dtype=torch.float64).reshape(2, 3, 7, 7) + 1
    k = s2d_kernel(w)
    assert k.shape == (8, 12, 4, 4)
    # every output phase reads every original tap exactly once: per (o, phase), the kernel's entries are w[o]'s
    for o in range(2):
        for phase in range(4):
            taps = k[o * 4 + phase]
            assert sorted(taps[taps != 0].tolist()) == sorted(w[o].flatten().tolist())

def test_odd_sizes_are_refused_and_eager_dispatch_is_conv2d():
    x, w = torch.randn(1, 2, 11, 12), torch.randn(3, 2, 3, 3)
    with pytest.raises(ValueError, match="multiples of 2"):
        conv2d_s2d(x, w, None)
    assert torch.equal(conv2d_few_outputs(x, w, None), F.conv2d(x, w))

class _Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(16, 3, 7)

    def forward(self, x):
        return conv2d_few_outputs(F.pad(x, (3, 3, 3, 3), mode="reflect"), self.conv.weight, self.conv.bias)

def test_export_uses_space_to_depth_and_matches(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = _Head().eval()
    x = torch.randn(1, 16, 32, 48)
    proto = export_standard(model, x, batch_dynamic=False, min_side=8)
    ops = [n.op_type for n in proto.graph.node]
    assert "SpaceToDepth" in ops and "DepthToSpace" in ops and ops.count("Conv") == 1
    conv = next(n for n in proto.graph.node if n.op_type == "Conv")
    onnx.save(proto, tmp_path / "head.onnx")
    sess = ort.InferenceSession(str(tmp_path / "head.onnx"), providers=["CPUExecutionProvider"])
    for shape in [(1, 16, 32, 48), (1, 16, 64, 16)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            want = model(x).numpy()  # eager: F.conv2d
        (y,) = sess.run(None, {"x": x.numpy()})
        assert y.shape == want.shape and np.abs(y - want).max() < 1e-5
    assert [a.i for a in conv.attribute if a.name == "group"] in ([], [1])


def _phases(x: torch.Tensor) -> list[list[torch.Tensor]]:
    """The four 2x2 phases of x (N, C, 2h, 2w): rows[b_y][b_x] = x[..., b_y::2, b_x::2]."""
    return [[x[:, :, by::2, bx::2] for bx in range(2)] for by in range(2)]


@pytest.mark.parametrize("pad", [1, 2, 3, 4])
@pytest.mark.parametrize("hw", [(6, 10), (8, 4)])
def test_space_to_depth_of_the_padded_interleave_built_from_phases(pad, hw):
    g = torch.Generator().manual_seed(pad)
    x = torch.randn(2, 3, 2 * hw[0], 2 * hw[1], generator=g, dtype=torch.float64)
    want = F.pad(x, (pad,) * 4, mode="reflect")
    want = want.reshape(2, 3, hw[0] + pad, 2, hw[1] + pad, 2).permute(0, 3, 5, 1, 2, 4).reshape(2, 12, hw[0] + pad, hw[1] + pad)
    got = reflect_pad_s2d_from_phases(_phases(x), pad)
    assert torch.equal(got, want)  # copies of the same values


def test_head_from_phases_equals_interleave_pad_conv():
    torch.manual_seed(0)
    x = torch.randn(1, 5, 20, 28, dtype=torch.float64)
    w, b = torch.randn(3, 5, 7, 7, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    want = F.conv2d(F.pad(x, (3,) * 4, mode="reflect"), w, b)
    assert torch.equal(conv2d_few_outputs_of_phases(_phases(x), 3, w, b), want)  # eager: the same ops
    with export_mode(custom_nodes=False):
        got = conv2d_few_outputs_of_phases(_phases(x), 3, w, b)
    assert got.shape == want.shape and (got - want).abs().max().item() < 1e-12


class _PhaseHead(nn.Module):
    """An up conv's phases straight into a reflect-padded 7x7 head, as the ACR's last two layers."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1, output_padding=1)
        self.head = nn.Conv2d(16, 3, 7)

    def forward(self, x):
        rows = conv_transpose2d_phase_outputs(x, self.up, F.relu)
        return conv2d_few_outputs_of_phases(rows, 3, self.head.weight, self.head.bias)


def test_phase_head_exports_with_dynamic_sizes_and_matches(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = _PhaseHead().eval()
    proto = export_standard(model, torch.randn(1, 16, 16, 24), batch_dynamic=False, min_side=8)
    ops = [n.op_type for n in proto.graph.node]
    assert "SpaceToDepth" not in ops and "Pad" not in ops and "DepthToSpace" in ops
    onnx.save(proto, tmp_path / "phase_head.onnx")
    sess = ort.InferenceSession(str(tmp_path / "phase_head.onnx"), providers=["CPUExecutionProvider"])
    for shape in [(1, 16, 16, 24), (1, 16, 40, 8)]:
        x = torch.randn(*shape)
        with torch.no_grad():
            want = model.head(F.pad(F.relu(model.up(x)), (3,) * 4, mode="reflect")).numpy()  # the eager layers
        (y,) = sess.run(None, {"x": x.numpy()})
        assert y.shape == want.shape and np.abs(y - want).max() < 1e-5


def test_phase_outputs_refuse_a_geometry_without_an_exact_phase_form():
    with pytest.raises(ValueError, match="no exact phase form"):
        conv_transpose2d_phase_outputs(torch.randn(1, 2, 4, 4), nn.ConvTranspose2d(2, 2, 3, stride=2))
