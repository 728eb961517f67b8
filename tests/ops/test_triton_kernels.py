"""The Triton kernels of both operators against the reference operators, in Triton's CPU interpreter.

``TRITON_INTERPRET=1`` must be set before a kernel is decorated, and this process's other tests compile the
same kernels to PTX, so the kernels run in ONE child process (``triton_interpret_worker.py``) that reports
every case's error; each case is then asserted here. Cases: every MADF encoder level's (k, stride, pad) with
tiny channel counts and odd sizes, other geometries, no bias; FAR's rates 1-4, square and not, FAR's 16 x 16
token grid; float32 (relative 1e-4) and float16 (relative 1e-2, float32 accumulation), bfloat16 on a subset.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops import triton_interpret_worker as worker

pytest.importorskip("triton")
pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]

CONV_IDS = [
    f"conv-cin{c[0]}-cout{c[1]}-cm{c[2]}-k{c[3]}s{c[4]}p{c[5]}-{c[6]}x{c[7]}-{'bias' if c[8] else 'nobias'}-{d}"
    for i, c in enumerate(worker.CONV_CASES)
    for d in ("float32", "float16") + (("bfloat16",) if i < worker.BF16_CONV_CASES else ())
]
ATTENTION_IDS = [
    f"attention-g{g}-r{rh}x{rw}-c{c}-{str(d)[6:]}-scores_{str(s)[6:]}"
    for i, (g, rh, rw, c) in enumerate(worker.ATTENTION_CASES)
    for d, s in worker.ATTENTION_DTYPES + (worker.BF16_ATTENTION_DTYPES if i < worker.BF16_ATTENTION_CASES else ())
] + ["attention-far-grid16-r1x2-float32"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("triton_interpret") / "results.json"
    env = dict(os.environ, TRITON_INTERPRET="1", OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-m", "tests.ops.triton_interpret_worker", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(out.read_text())


def test_the_worker_ran_the_interpreter(results):
    assert results["_interpreted"] == ["InterpretedFunction"]
    assert set(results) - {"_interpreted"} == set(CONV_IDS) | set(ATTENTION_IDS)


@pytest.mark.parametrize("case_id", CONV_IDS + ATTENTION_IDS)
def test_kernel_matches_reference(results, case_id):
    case = results[case_id]
    assert case["shape"] == case["expected_shape"]
    out_dtype = case_id.split("-")[-1] if case_id.startswith("conv") or "far" in case_id else case_id.split("-")[-2]
    assert case["dtype"] == f"torch.{out_dtype}"  # the output keeps the features' dtype
    assert case["err"] < case["tol"], f"{case_id}: relative error {case['err']:.3g} >= {case['tol']}"


def test_interpreter_mode_does_not_leak_into_this_process():
    """The child's TRITON_INTERPRET stays there: kernels imported here are compiled JIT functions."""
    if os.environ.get("TRITON_INTERPRET") == "1":
        pytest.skip("the whole test run was started with TRITON_INTERPRET=1")
    from inpaint.ops.attention_aggregate import triton as aa
    from inpaint.ops.dynamic_conv import triton as dc

    assert type(dc.dynamic_conv_kernel).__name__ == type(aa.attention_aggregate_kernel).__name__ == "JITFunction"


def test_shape_errors_are_value_errors():
    """Checked before any launch, so this runs without a GPU and without the interpreter."""
    torch = pytest.importorskip("torch")
    from inpaint.ops.attention_aggregate.triton import masked_attention_aggregate_triton
    from inpaint.ops.dynamic_conv.triton import dynamic_conv_triton

    e, m = torch.zeros(1, 2, 8, 8), torch.zeros(1, 3, 5, 4)
    weight, bias = torch.zeros(2 * 9 * 4, 3, 1, 1), torch.zeros(2 * 9 * 4)
    with pytest.raises(ValueError, match="mask features"):
        dynamic_conv_triton(e, m, weight, bias, 3, 2, 1)
    with pytest.raises(ValueError, match="generator weight"):
        dynamic_conv_triton(e, torch.zeros(1, 3, 4, 4), weight[:-1], bias, 3, 2, 1)
    with pytest.raises(ValueError, match="token grid"):
        masked_attention_aggregate_triton(torch.zeros(1, 2, 12, 12), torch.zeros(1, 15, 15))
    with pytest.raises(ValueError, match="multiples"):
        masked_attention_aggregate_triton(torch.zeros(1, 2, 10, 12), torch.zeros(1, 16, 16))


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_kernels_on_cuda_match_reference(dtype):
    """The compiled kernels (not the interpreter) on a CUDA device: one MADF level and one FAR rate."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available() or os.environ.get("TRITON_INTERPRET") == "1":
        pytest.skip("needs a CUDA device (and TRITON_INTERPRET unset)")
    from inpaint.ops.attention_aggregate import masked_attention_aggregate_reference
    from inpaint.ops.attention_aggregate.triton import masked_attention_aggregate_triton
    from inpaint.ops.dynamic_conv import DynamicConvSpec, dynamic_conv_windows
    from inpaint.ops.dynamic_conv.triton import dynamic_conv_triton

    dt, tol = getattr(torch, dtype), worker.TOL[getattr(torch, dtype)]
    g = torch.Generator().manual_seed(0)
    spec = DynamicConvSpec(16, 32, 16, 5, 2, 2)
    e, m = torch.randn(2, 16, 37, 45, generator=g), torch.rand(2, 16, *spec.out_size(37, 45), generator=g)
    weight = torch.randn(spec.generator_channels, 16, 1, 1, generator=g) / (16 * 25 * 16) ** 0.5
    bias = torch.randn(spec.generator_channels, generator=g) / (16 * 25) ** 0.5
    args = [t.to(dt) for t in (e, m, weight, bias)]
    y = dynamic_conv_triton(*[t.cuda() for t in args], 5, 2, 2).cpu()
    assert worker._rel_err(y, dynamic_conv_windows(*[t.double() for t in args], 5, 2, 2)) < tol
    x = torch.randn(2, 64, 64, 48, generator=g).to(dt)
    scores = torch.softmax(3 * torch.randn(2, 256, 256, generator=g), -1).to(dt)
    y = masked_attention_aggregate_triton(x.cuda(), scores.cuda()).cpu()
    assert worker._rel_err(y, masked_attention_aggregate_reference(x.double(), scores.double())) < tol
