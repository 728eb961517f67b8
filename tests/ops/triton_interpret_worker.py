"""Runs the Triton kernels under ``TRITON_INTERPRET=1`` on CPU tensors against the reference operators.

Not a test module: ``test_triton_kernels.py`` runs it in a child process (``python -m
tests.ops.triton_interpret_worker OUT.json`` with ``TRITON_INTERPRET=1``), because Triton decides between
compiling and interpreting when a kernel is decorated, so the mode must be set before the kernel modules
are imported and must not leak into the test process (whose PTX tests need the compiler).

Writes ``{case id: {"err": max |y - ref| / max |ref|, "tol": ..., "shape": [...], "expected_shape": [...]}}``.
"""

from __future__ import annotations

import json
import os
import sys

import torch

from inpaint.ops.attention_aggregate import masked_attention_aggregate_reference
from inpaint.ops.dynamic_conv import DynamicConvSpec, dynamic_conv_windows

#: float32 relative tolerance (issue 9); float16 and bfloat16 (inputs rounded to 16 bits, float32 accumulation,
#: the output rounded to 16 bits: 2**-9 relative for bfloat16)
TOL = {torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 1e-2}
#: the cases also run in bfloat16 (a subset: the dtype only changes loads, stores and the dot's operand cast)
BF16_CONV_CASES = 3
BF16_ATTENTION_CASES = 4

#: (k, stride, pad) of every MADF encoder level (inpaint/models/madf.py: kernels (7, 5, 3, ...), stride 2, pad k // 2)
MADF_LEVELS = [(7, 2, 3), (5, 2, 2), (3, 2, 1)]

#: dynamic conv cases: (C_in, C_out, C_m, k, stride, pad, H, W, bias); tiny channels, odd sizes
CONV_CASES = [
    *[(3, 4, 16, k, s, p, 13, 11, True) for k, s, p in MADF_LEVELS],  # MADF's 16 mask channels
    *[(2, 5, 3, k, s, p, 9, 14, True) for k, s, p in MADF_LEVELS],
    (2, 33, 3, 3, 2, 1, 7, 5, True),  # C_out over one program's channel tile
    (3, 2, 17, 3, 2, 1, 6, 7, True),  # C_m over one inner-product step
    (2, 3, 2, 3, 1, 1, 5, 6, False),  # no bias, stride 1
    (2, 3, 2, 4, 3, 1, 11, 9, True),  # even kernel, stride 3
]

#: attention cases: (g, r_h, r_w, C); FAR's rates 1-4, square and not
ATTENTION_CASES = [(4, r, r, 3) for r in (1, 2, 3, 4)] + [(4, 1, 3, 2), (4, 4, 2, 3), (4, 2, 3, 2), (3, 3, 1, 17)]


#: (features, scores) dtypes of every attention case; the bfloat16 pairs run on the first BF16_ATTENTION_CASES
ATTENTION_DTYPES = ((torch.float32, torch.float32), (torch.float16, torch.float16), (torch.float16, torch.float32))
BF16_ATTENTION_DTYPES = ((torch.bfloat16, torch.bfloat16), (torch.bfloat16, torch.float32))


def _rel_err(y: torch.Tensor, ref: torch.Tensor) -> float:
    return float((y.double() - ref.double()).abs().max() / ref.double().abs().max().clamp_min(1e-30))


def _conv_case(c_in, c_out, c_m, k, s, p, h, w, with_bias, dtype):
    from inpaint.ops.dynamic_conv.triton import dynamic_conv_triton

    g = torch.Generator().manual_seed(c_in * 1000 + k * 10 + c_out)
    spec = DynamicConvSpec(c_in, c_out, c_m, k, s, p)
    ho, wo = spec.out_size(h, w)
    e = torch.randn(2, c_in, h, w, generator=g)
    m = torch.rand(2, c_m, ho, wo, generator=g)
    weight = torch.randn(spec.generator_channels, c_m, 1, 1, generator=g) / (c_in * k * k * c_m) ** 0.5
    bias = torch.randn(spec.generator_channels, generator=g) / (c_in * k * k) ** 0.5 if with_bias else None
    args = [t if t is None else t.to(dtype) for t in (e, m, weight, bias)]
    y = dynamic_conv_triton(*args, k, s, p)
    ref = dynamic_conv_windows(*[t if t is None else t.double() for t in args], k, s, p)
    return y, ref, (2, c_out, ho, wo)


def _attention_case(g, rh, rw, c, dtype, scores_dtype):
    from inpaint.ops.attention_aggregate.triton import masked_attention_aggregate_triton

    gen = torch.Generator().manual_seed(g * 100 + rh * 10 + rw)
    x = torch.randn(2, c, g * rh, g * rw, generator=gen).to(dtype)
    scores = torch.softmax(3 * torch.randn(2, g * g, g * g, generator=gen), -1).to(scores_dtype)
    y = masked_attention_aggregate_triton(x, scores, (rh, rw))
    ref = masked_attention_aggregate_reference(x.double(), scores.double(), (rh, rw))
    return y, ref, tuple(x.shape)


def _far_grid_case():
    """FAR's own 16 x 16 token grid (L = 256) through ``launch`` with one program per image (fast to interpret)."""
    from inpaint.ops.attention_aggregate import triton as kernels

    gen = torch.Generator().manual_seed(16)
    x = torch.randn(1, 2, 16, 32, generator=gen)
    scores = torch.softmax(3 * torch.randn(1, 256, 256, generator=gen), -1)
    y = torch.empty_like(x)
    kernels.launch(x, scores, y, (1, 2), block_p=512)
    return y, masked_attention_aggregate_reference(x.double(), scores.double(), (1, 2)), tuple(x.shape)


def run() -> dict:
    from inpaint.ops.attention_aggregate import triton as aa_kernels
    from inpaint.ops.dynamic_conv import triton as dc_kernels

    interpreted = {type(dc_kernels.dynamic_conv_kernel).__name__, type(aa_kernels.attention_aggregate_kernel).__name__}
    results: dict = {"_interpreted": sorted(interpreted)}

    def record(case_id, y, ref, expected_shape, tol):
        results[case_id] = {"err": _rel_err(y, ref), "tol": tol, "shape": list(y.shape), "expected_shape": list(expected_shape), "dtype": str(y.dtype)}

    for index, case in enumerate(CONV_CASES):
        for dtype in (torch.float32, torch.float16) + ((torch.bfloat16,) if index < BF16_CONV_CASES else ()):
            c_in, c_out, c_m, k, s, p, h, w, with_bias = case
            case_id = f"conv-cin{c_in}-cout{c_out}-cm{c_m}-k{k}s{s}p{p}-{h}x{w}-{'bias' if with_bias else 'nobias'}-{str(dtype)[6:]}"
            record(case_id, *_conv_case(*case, dtype), TOL[dtype])
    for index, (g, rh, rw, c) in enumerate(ATTENTION_CASES):
        for dtype, scores_dtype in ATTENTION_DTYPES + (BF16_ATTENTION_DTYPES if index < BF16_ATTENTION_CASES else ()):
            case_id = f"attention-g{g}-r{rh}x{rw}-c{c}-{str(dtype)[6:]}-scores_{str(scores_dtype)[6:]}"
            record(case_id, *_attention_case(g, rh, rw, c, dtype, scores_dtype), TOL[dtype])
    record("attention-far-grid16-r1x2-float32", *_far_grid_case(), TOL[torch.float32])
    return results


if __name__ == "__main__":
    if os.environ.get("TRITON_INTERPRET") != "1":
        sys.exit("run with TRITON_INTERPRET=1 (the kernels run on CPU tensors only in Triton's interpreter)")
    torch.set_num_threads(1)
    with open(sys.argv[1], "w") as f:
        json.dump(run(), f, indent=1)
