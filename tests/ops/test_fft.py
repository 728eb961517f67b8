"""FFT for the FFC Fourier unit: the DFT-matrix form (export) against torch.fft, the dispatchers' stacked
layout, and a dynamic-shape ONNX export with no DFT node run in ONNX Runtime."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from inpaint.ops.fft import irfft2, irfft2_dft, rfft2, rfft2_dft
from inpaint.ops.mode import export_mode

SIZES = [(16, 16), (32, 48), (15, 20), (64, 64), (9, 7), (1, 6)]  # even, odd, non-square, a single row


def _randn(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("hw", SIZES)
def test_rfft2_dft_equals_torch_fft(hw):
    x = _randn(2, 3, *hw)
    expected = torch.fft.rfft2(x, norm="ortho")
    real, imag = rfft2_dft(x)
    assert real.shape == imag.shape == expected.shape == (2, 3, hw[0], hw[1] // 2 + 1)
    assert (real - expected.real).abs().max().item() < 1e-4
    assert (imag - expected.imag).abs().max().item() < 1e-4


@pytest.mark.parametrize("hw", SIZES)
def test_irfft2_dft_equals_torch_fft(hw):
    """A random half spectrum is not Hermitian along H nor real at v = 0, W/2: C2R must read it as torch does."""
    h, w = hw
    real, imag = _randn(2, 3, h, w // 2 + 1, seed=1), _randn(2, 3, h, w // 2 + 1, seed=2)
    expected = torch.fft.irfft2(torch.complex(real, imag), s=hw, norm="ortho")
    y = irfft2_dft(real, imag, hw)
    assert y.shape == (2, 3, h, w)
    assert (y - expected).abs().max().item() < 1e-4


def test_dft_form_is_exact_in_float64():
    """The matrices carry no approximation: in float64 the error is rounding only."""
    x = _randn(1, 2, 15, 21, dtype=torch.float64)
    real, imag = rfft2_dft(x)
    expected = torch.fft.rfft2(x, norm="ortho")
    assert max((real - expected.real).abs().max().item(), (imag - expected.imag).abs().max().item()) < 1e-12
    assert (irfft2_dft(real, imag, (15, 21)) - x).abs().max().item() < 1e-12


def test_irfft2_dft_rejects_a_spectrum_of_the_wrong_size():
    real = torch.zeros(1, 1, 8, 5)
    with pytest.raises(ValueError, match="spectrum"):
        irfft2_dft(real, real, (8, 10))  # W = 10 needs 6 bins


@pytest.mark.parametrize("hw", [(16, 16), (15, 20), (32, 47)])
def test_dispatchers_layout_and_round_trip(hw):
    """Channel 2c = Re, 2c+1 = Im, as LaMa's stack(..., dim=-1) + permute(0, 1, 4, 2, 3) + view; both modes."""
    x = _randn(2, 3, *hw)
    f = torch.fft.rfft2(x, norm="ortho")
    lama = torch.stack((f.real, f.imag), dim=-1).permute(0, 1, 4, 2, 3).reshape(2, 6, hw[0], hw[1] // 2 + 1)
    eager = rfft2(x)
    torch.testing.assert_close(eager, lama)
    with export_mode(custom_nodes=False):
        exported = rfft2(x)
        back_exported = irfft2(exported, x.shape[-2:])
    assert (exported - lama).abs().max().item() < 1e-4
    assert (irfft2(eager, x.shape[-2:]) - x).abs().max().item() < 1e-5
    assert (back_exported - x).abs().max().item() < 1e-4


class _FourierUnitCore(torch.nn.Module):
    """The Fourier unit's spectral path: rfft2 -> 1x1 conv on (Re, Im) channels -> irfft2 back to x's size."""

    def __init__(self, channels: int = 2):
        super().__init__()
        self.conv = torch.nn.Conv2d(2 * channels, 2 * channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return irfft2(self.conv(rfft2(x)), x.shape[-2:])


def test_dynamic_export_has_no_dft_and_matches_torch_fft(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = _FourierUnitCore().eval()
    dim = torch.export.Dim
    shapes = {"x": {0: dim("batch", min=1, max=64), 2: dim("h", min=2, max=2048), 3: dim("w", min=2, max=2048)}}
    with export_mode(custom_nodes=False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(model, (_randn(2, 2, 20, 30),), dynamo=True, input_names=["x"], output_names=["y"], dynamic_shapes=shapes, verbose=False)
    proto = program.model_proto
    proto.ir_version = min(proto.ir_version, 10)
    ops = {nd.op_type for nd in proto.graph.node}
    assert "DFT" not in ops and {"MatMul", "Cos", "Sin"} <= ops
    onnx.save(proto, tmp_path / "fu.onnx")
    sess = ort.InferenceSession(str(tmp_path / "fu.onnx"), providers=["CPUExecutionProvider"])
    for shape in [(1, 2, 64, 64), (3, 2, 15, 22)]:  # two sizes (one odd) of one dynamic export
        x = _randn(*shape, seed=3)
        with torch.no_grad():
            expected = model(x)  # eager: torch.fft
        (y,) = sess.run(None, {"x": x.numpy()})
        assert y.shape == shape
        assert np.abs(y - expected.numpy()).max() < 1e-4
