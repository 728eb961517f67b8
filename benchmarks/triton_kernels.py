"""The Triton kernels against the torch forms the models run, on a CUDA GPU, in one run.

MADF (the paper's ``madf`` widths, DESIGN.md table) at a 512x512 image: every encoder level's dynamic
convolution, the factorised torch form (``dynamic_conv``) against ``dynamic_conv_triton`` in float32 and
float16; FAR at 512x512: the prior-attention aggregation at H/8 = 64 (C = 512, rate 4, L = 256), the matmul
form against ``masked_attention_aggregate_triton``. Prints time per call (median of CUDA-event timings),
the speed ratio and the relative error against the float64 reference of each op.

    python benchmarks/triton_kernels.py [--size 512] [--repeats 20]

Needs PyTorch with CUDA and Triton; no figures are claimed for machines where it has not run.
"""

from __future__ import annotations

import argparse
import statistics
import sys

#: (C_in, C_out, k) of MADF's seven encoder levels; stride 2, pad k // 2, 16 mask channels (DESIGN.md)
MADF_LEVELS = [(6, 16, 7), (16, 32, 5), (32, 64, 3), (64, 128, 3), (128, 128, 3), (128, 128, 3), (128, 128, 3)]
MASK_CHANNELS = 16


def _time(fn, repeats: int) -> float:
    import torch

    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def _rel(y, ref) -> float:
    return float((y.double() - ref).abs().max() / ref.abs().max())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device: this benchmark needs a GPU", file=sys.stderr)
        return 2
    from inpaint.ops.attention_aggregate import masked_attention_aggregate_matmul, masked_attention_aggregate_triton
    from inpaint.ops.dynamic_conv import dynamic_conv, dynamic_conv_triton

    torch.manual_seed(0)
    dev = "cuda"
    print(f"{torch.cuda.get_device_name()}, image {args.size}x{args.size}, batch 1, median of {args.repeats}")
    print(f"{'op':<28}{'dtype':<9}{'torch ms':>10}{'triton ms':>11}{'speed-up':>10}{'rel err':>10}")
    size = args.size
    for level, (c_in, c_out, k) in enumerate(MADF_LEVELS, 1):
        h = size >> (level - 1)
        e = torch.randn(1, c_in, h, h, device=dev)
        m = torch.rand(1, MASK_CHANNELS, h // 2, h // 2, device=dev)
        weight = torch.randn(c_in * k * k * c_out, MASK_CHANNELS, 1, 1, device=dev) / (c_in * k * k * MASK_CHANNELS) ** 0.5
        bias = torch.randn(c_in * k * k * c_out, device=dev) / (c_in * k * k) ** 0.5
        ref = dynamic_conv(*(t.double() for t in (e, m, weight, bias)), k, 2, k // 2)
        for dtype in (torch.float32, torch.float16):
            a = [t.to(dtype) for t in (e, m, weight, bias)]
            t_torch = _time(lambda: dynamic_conv(*a, k, 2, k // 2), args.repeats)
            t_triton = _time(lambda: dynamic_conv_triton(*a, k, 2, k // 2), args.repeats)
            err = _rel(dynamic_conv_triton(*a, k, 2, k // 2), ref)
            print(f"{f'madf level {level} ({c_in}->{c_out}, k{k})':<28}{str(dtype)[6:]:<9}{t_torch:>10.3f}{t_triton:>11.3f}{t_torch / t_triton:>10.2f}{err:>10.1e}")
    g, rate, c = 16, size // 8 // 16, 512
    x = torch.randn(1, c, g * rate, g * rate, device=dev)
    scores = torch.softmax(3 * torch.randn(1, g * g, g * g, device=dev), -1)
    ref = masked_attention_aggregate_matmul(x.double(), scores.double())
    for dtype in (torch.float32, torch.float16):
        xa, sa = x.to(dtype), scores.to(dtype)
        t_torch = _time(lambda: masked_attention_aggregate_matmul(xa, sa), args.repeats)
        t_triton = _time(lambda: masked_attention_aggregate_triton(xa, sa), args.repeats)
        err = _rel(masked_attention_aggregate_triton(xa, sa), ref)
        print(f"{f'far aggregation (r={rate})':<28}{str(dtype)[6:]:<9}{t_torch:>10.3f}{t_triton:>11.3f}{t_torch / t_triton:>10.2f}{err:>10.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
