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
