"""The space-to-depth form of a convolution with few output channels (exported graphs) against ``F.conv2d``."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inpaint.ops.conv_s2d import conv2d_few_outputs, conv2d_s2d, s2d_kernel

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
