"""The PTX the TensorRT plugins hand TensorRT, per target: ISA, driver cap, launch metadata, entry names, build target.

Real Triton compiles (no GPU: Triton 3.9 compiles for any ``GPUTarget``) assembled with this machine's CUDA 13.0
``ptxas`` where it knows the target; the table, the driver cap and the metadata checks without compiling.
"""

import shutil
import subprocess
import types

import pytest

from inpaint.errors import UserError
from inpaint.ops import triton_aot as A

# --- the table (no compile) ---------------------------------------------------------------------------------


@pytest.mark.parametrize("arch,isa", [(75, 87), (80, 87), (86, 87), (87, 87), (89, 87), (90, 87), (100, 87), (120, 87),
                                      (101, 88), (103, 88), (121, 88), (110, 90)])
def test_lowest_isa_per_target(arch, isa):
    assert A.ptx_version(arch) == isa
    assert A.min_driver(isa) == {87: "12.8", 88: "12.9", 90: "13.0"}[isa]


@pytest.mark.parametrize("arch", [70, 72, 130, 200])
def test_targets_outside_the_table_name_the_standard_graph(arch):
    with pytest.raises(UserError, match=rf"sm_{arch}: .*--ops standard"):
        A.ptx_version(arch)


@pytest.mark.parametrize("arch,driver,ok", [(121, "12.8", False), (121, "12.9", True), (110, "12.9", False), (110, "13.0", True),
                                            (90, "12.6", False), (90, "12.8", True), (90, "13.1", True), (80, "", True)])
def test_driver_caps_the_isa(arch, driver, ok):
    if ok:
        assert A.ptx_version(arch, driver) == A.ptx_version(arch)
    else:
        with pytest.raises(UserError, match=rf"PTX ISA {A.isa_text(A.ptx_version(arch))}.*CUDA {driver}.*--ops standard"):
            A.ptx_version(arch, driver)


def test_target_is_checked_before_triton_compiles(monkeypatch):
    """An ISA below a target's minimum aborts the process inside Triton (LLVM error): never call it then."""
    triton = pytest.importorskip("triton")
    calls = []
    monkeypatch.setattr(triton, "compile", lambda *a, **k: calls.append(a))
    from inpaint.ops.dynamic_conv import trt

    for arch, driver in ((130, ""), (121, "12.8")):
        with pytest.raises(UserError, match="--ops standard"):
            trt.compile_ptx(arch, "float32", driver=driver, kernel_size=3, stride=2, pad=1)
        with pytest.raises(UserError):
            with A.targeting(A.BuildTarget(arch, driver)):
                pass
    assert calls == []


def test_build_target_comes_from_the_driver_not_triton(monkeypatch):
    from inpaint import _cuda

    info = _cuda.DriverInfo(True, "", "12.9", (_cuda.Gpu(0, "GB10", "12.1", 1 << 17),))
    monkeypatch.setattr(_cuda, "driver_info", lambda: info)
    triton = pytest.importorskip("triton")

    class NoDriver:
        def __getattr__(self, name):
            raise AssertionError("Triton's driver was asked (it builds C helpers with a compiler)")

    monkeypatch.setattr(triton.runtime, "driver", NoDriver())
    assert A.build_target() == A.BuildTarget(121, "12.9")
    with A.targeting(A.BuildTarget(90, "13.0")):
        assert A.build_target() == A.BuildTarget(90, "13.0")
    assert A.build_target() == A.BuildTarget(121, "12.9")
    monkeypatch.setattr(_cuda, "driver_info", lambda: _cuda.DriverInfo(False, "no NVIDIA driver library"))
    with pytest.raises(UserError, match="no NVIDIA driver"):
        A.build_target()


@pytest.mark.parametrize("field,value", [("tmem_size", 32), ("num_ctas", 2), ("cluster_dims", (2, 1, 1)), ("launch_pdl", True),
                                         ("launch_cooperative_grid", True), ("tensordesc_meta", [{"block": [64, 64]}])])
def test_launch_metadata_tensorrt_cannot_serve_is_refused(field, value):
    base = dict(name="k", tmem_size=0, num_ctas=1, cluster_dims=None, launch_pdl=False, launch_cooperative_grid=False, tensordesc_meta=[])
    A.check_launch_metadata(types.SimpleNamespace(**base))
    with pytest.raises(RuntimeError, match=field):
        A.check_launch_metadata(types.SimpleNamespace(**{**base, field: value}))


def test_kernel_names_are_unique_identifiers():
    names = set()
    for dtypes in (("fp32",) * 5, ("fp16",) * 5, ("fp16", "fp16", "fp32", "fp32", "fp16"), ("bf16",) * 5):
        for tactic in (1, 2):
            for k, s, p in ((7, 2, 3), (5, 2, 2), (3, 2, 1), (3, 1, 1)):
                names.add(A.kernel_name("dynamic_conv", dtypes, tactic, k=k, s=s, p=p))
    assert len(names) == 4 * 2 * 4 and all(A._NAME.match(n) for n in names)
    assert A.kernel_name("attention_aggregate", ("fp16", "fp32", "fp16"), 1, g=16) == "inpaint_attention_aggregate_fp16_fp32_fp16_t1_g16"


# --- real compiles ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compiler():
    pytest.importorskip("triton")
    import os

    if os.environ.get("TRITON_INTERPRET") == "1":
        pytest.skip("TRITON_INTERPRET=1: kernels are interpreted, not compiled")
    return shutil.which("ptxas")


def _assemble(ptxas, ptx: str, tmp_path) -> None:
    target = next(line.split()[1] for line in ptx.splitlines() if line.startswith(".target"))
    src = tmp_path / f"{target}.ptx"
    src.write_text(ptx)
    proc = subprocess.run([ptxas, f"-arch={target}", str(src), "-o", str(tmp_path / "k.cubin")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("arch", [100, 103, 110, 120, 121])
def test_blackwell_and_thor_targets_compile_at_their_isa(compiler, arch, tmp_path):
    """sm_103/110/121 killed the process with an LLVM error at ISA 8.7; now each compiles at its own ISA, and
    on the tensor-memory targets the float16 tactic 2 is one that needs none (BLOCK_P=64 would give tmem_size=32)."""
    from inpaint.ops.attention_aggregate import trt as aa
    from inpaint.ops.dynamic_conv import trt as dc

    pairs = dc.compile_ptx(arch, "float16", kernel_size=3, stride=2, pad=1) + aa.compile_ptx(arch, "float16")
    assert len({name for name, _ in pairs}) == 4
    for name, ptx in pairs:
        assert f".version {A.isa_text(A.ptx_version(arch))}" in ptx.splitlines()
        assert f".entry {name}(" in ptx
        if compiler:
            _assemble(compiler, ptx, tmp_path)


def test_tensor_memory_kernel_is_refused_at_compile_time(compiler):
    """The measured case: the float16 dynamic conv with 64-pixel programs on sm_100 gets tmem_size=32."""
    from inpaint.ops.dynamic_conv import trt as dc
    from inpaint.ops.dynamic_conv import triton as kernels

    with pytest.raises(RuntimeError, match="tmem_size=32"):
        A.compile_to_ptx(kernels.dynamic_conv_kernel, dc._signature(("fp16",) * 5), kernels.constexprs(3, 2, 1, "fp16", 64), 100, 4)
    assert kernels.tactic_config(2, 100, "fp16") == kernels.TMEM_SAFE_TACTIC_2 != kernels.tactic_config(1, 100, "fp16")
    assert kernels.tactic_config(2, 90, "fp16") == (64, kernels.NUM_WARPS) == kernels.tactic_config(2, 100, "fp32")


def test_sm101_is_served_or_refused_with_the_fix(compiler):
    """CUDA 13 renamed sm_101 to sm_110, and Triton 3.9's bundled ptxas no longer knows it: a UserError, not an abort."""
    from inpaint.ops.dynamic_conv import trt as dc

    try:
        pairs = dc.compile_ptx(101, "float32", kernel_size=3, stride=2, pad=1)
    except UserError as exc:
        assert "--ops standard" in str(exc) and "sm_101" in str(exc)
    else:
        assert all(".version 8.8" in ptx.splitlines() for _, ptx in pairs)


def test_entry_names_differ_per_op_dtype_tactic_and_attributes(compiler):
    from inpaint.ops.attention_aggregate import trt as aa
    from inpaint.ops.dynamic_conv import trt as dc

    pairs = (dc.compile_ptx(80, "float32", kernel_size=3, stride=2, pad=1) + dc.compile_ptx(80, "float16", kernel_size=3, stride=2, pad=1)
             + dc.compile_ptx(80, "float32", kernel_size=5, stride=2, pad=2) + aa.compile_ptx(80, "float32")
             + aa.compile_ptx(80, "float32", num_tokens=64))
    names = [name for name, _ in pairs]
    assert len(set(names)) == len(names) == 10
    for name, ptx in pairs:
        assert A.entry_params(ptx) and f".entry {name}(" in ptx
