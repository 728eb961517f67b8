"""The TensorRT plugins of both operators, as far as they run without TensorRT and without a GPU.

- Importing the plugin modules needs no TensorRT; ``REGISTERED`` is then False.
- ``compile_ptx``: the PTX (ISA 8.7) assembles with this machine's ``ptxas`` for sm_80/86/89/90 in float32 and
  float16, and its ``.entry`` parameters are exactly what TensorRT's AOT launch passes: input pointers, the
  int32 extra arguments, output pointers (Triton's hidden scratch pointers removed).
- NVIDIA's ``tensorrt.plugin`` (pure Python, from the ``tensorrt-cu12-bindings`` wheel) over a stand-in for
  TensorRT's C++ core (``trt_standin.py``): the decorators' validation, plugin creation from the fields the ONNX
  parser passes, ``register``'s fake and symbolic shape passes, ``autotune``, and ``aot_impl`` through the
  AOT plugin's ``get_launch_params``/``get_kernel``, whose extra arguments and grid must equal what the
  torch launcher passes to the same kernel (the launcher is checked numerically in ``test_triton_kernels.py``).
"""

import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

from inpaint.ops.triton_aot import BuildTarget
from tests.ops import trt_standin

PLUGIN_MODULES = ("inpaint.ops.dynamic_conv.trt", "inpaint.ops.attention_aggregate.trt")
#: tensorrt-cu12-bindings versions whose tensorrt.plugin is exercised: the first with aot_impl (10.9), the last
#: 10.x (10.16, whose samples pin Triton 3.5), and 11.4 (numpy >= 2.4 scalar-attribute fix, 11.2.1)
BINDINGS_VERSIONS = ("10.9.0.34", "10.16.1.11", "11.4.0.106")
ARCHS = (80, 86, 89, 90)
MADF_LEVELS = [(7, 2, 3), (5, 2, 2), (3, 2, 1)]


def _fresh(name: str):
    sys.modules.pop(name, None)
    return importlib.import_module(name)


# --- without TensorRT -------------------------------------------------------------------------------------


def test_plugin_modules_import_without_tensorrt():
    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("TensorRT is installed here")
    from inpaint.ops import trt_plugins

    for name, plugin in zip(PLUGIN_MODULES, ("inpaint::MaskAwareDynamicConv", "inpaint::MaskedAttentionAggregate")):
        module = _fresh(name)
        assert module.PLUGIN_NAME == plugin and module.REGISTERED is False and module.AOT_REGISTERED is False
    assert trt_plugins.register_all() == []
    assert len(trt_plugins.plugin_version()) == 16


def test_plugin_modules_import_without_triton():
    """A TensorRT-only runtime registers the plugins without Triton: kernels are imported when compiled or run."""
    code = (
        "import sys; sys.modules['triton'] = None\n"
        "from inpaint.ops import trt_plugins\n"
        "trt_plugins.register_all(); print(len(trt_plugins.plugin_version()))\n"
        "assert not any(m == 'triton' or m.startswith('triton.') for m in sys.modules if sys.modules[m] is not None)\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, env=env, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "16", proc.stderr[-2000:]


# --- PTX ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ptxas():
    pytest.importorskip("triton")
    if os.environ.get("TRITON_INTERPRET") == "1":
        pytest.skip("TRITON_INTERPRET=1: kernels are interpreted, not compiled")
    path = shutil.which("ptxas")
    if path is None:
        pytest.skip("ptxas (CUDA toolkit) is not on the PATH")
    return path


def _check_ptx(ptxas: str, ptx: str, arch: int, n_inputs: int, n_scalars: int, n_outputs: int) -> None:
    from inpaint.ops.triton_aot import entry_params

    from inpaint.ops.triton_aot import isa_text, ptx_version

    lines = ptx.splitlines()
    assert f".version {isa_text(ptx_version(arch))}" in lines  # the target's lowest ISA (8.7 up to sm_90: CUDA 12.8 drivers)
    target = next(line.split()[1] for line in lines if line.startswith(".target"))
    assert target in (f"sm_{arch}", f"sm_{arch}a")
    params = [t for t, _ in entry_params(ptx)]
    assert params == [".u64"] * n_inputs + [".u32"] * n_scalars + [".u64"] * n_outputs
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "k.ptx"
        src.write_text(ptx)
        proc = subprocess.run([ptxas, f"-arch={target}", str(src), "-o", str(Path(tmp) / "k.cubin")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_dynamic_conv_ptx_assembles_with_the_declared_entry(ptxas, arch, dtype):
    from inpaint.ops.dynamic_conv import trt
    from inpaint.ops.dynamic_conv import triton as kernels

    pairs = trt.compile_ptx(arch, dtype, kernel_size=7, stride=2, pad=3)
    assert len(pairs) == len(trt.TACTICS) and len({ptx for _, ptx in pairs}) == len(pairs)
    for tactic, (name, ptx) in zip(trt.TACTICS, pairs):
        assert name == f"inpaint_dynamic_conv_{'_'.join([trt.triton_dtype(dtype)] * 5)}_t{tactic}_k7_s2_p3"
        _check_ptx(ptxas, ptx, arch, len(kernels.KERNEL_INPUTS), len(kernels.KERNEL_SCALARS), len(kernels.KERNEL_OUTPUTS))


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_attention_aggregate_ptx_assembles_with_the_declared_entry(ptxas, arch, dtype):
    from inpaint.ops.attention_aggregate import trt
    from inpaint.ops.attention_aggregate import triton as kernels

    pairs = trt.compile_ptx(arch, dtype, rate=[0, 0])
    assert len(pairs) == len(trt.TACTICS)
    for tactic, (name, ptx) in zip(trt.TACTICS, pairs):
        assert name == f"inpaint_attention_aggregate_{'_'.join([trt.triton_dtype(dtype)] * 3)}_t{tactic}_g16"
        _check_ptx(ptxas, ptx, arch, len(kernels.KERNEL_INPUTS), len(kernels.KERNEL_SCALARS), len(kernels.KERNEL_OUTPUTS))


@pytest.mark.parametrize("arch", [80, 90])
def test_bfloat16_ptx_assembles(ptxas, arch):
    from inpaint.ops.attention_aggregate import trt as aa
    from inpaint.ops.dynamic_conv import trt as dc

    (_, dc_ptx), _ = dc.compile_ptx(arch, "bfloat16", kernel_size=5, stride=2, pad=2)
    _check_ptx(ptxas, dc_ptx, arch, 4, 8, 1)
    (_, aa_ptx), _ = aa.compile_ptx(arch, "bf16")
    _check_ptx(ptxas, aa_ptx, arch, 2, 6, 1)


@pytest.mark.parametrize("k,s,p", MADF_LEVELS[1:])
def test_other_madf_levels_compile(ptxas, k, s, p):
    from inpaint.ops.dynamic_conv import trt

    (_, ptx), _ = trt.compile_ptx(86, "float16", kernel_size=np.array([k], np.int32), stride=s, pad=p)
    _check_ptx(ptxas, ptx, 86, 4, 8, 1)


def test_hidden_parameters_are_removed_only_when_unused():
    from inpaint.ops.triton_aot import entry_params, strip_unused_trailing_params

    ptx = (
        ".version 8.7\n.target sm_80\n.address_size 64\n.visible .entry k(\n"
        "\t.param .u64 .ptr .global .align 1 k_param_0,\n\t.param .u32 k_param_1,\n"
        "\t.param .u64 .ptr .global .align 1 k_param_2,\n\t.param .u64 .ptr .global .align 1 k_param_3\n)\n"
        "{\n\tld.param.u64 %rd1, [k_param_0];\n\tret;\n}\n"
    )
    stripped = strip_unused_trailing_params(ptx, 2)
    assert entry_params(stripped) == [(".u64", "k_param_0"), (".u32", "k_param_1")]
    assert strip_unused_trailing_params(ptx, 4) == ptx
    with pytest.raises(ValueError, match="used by the kernel"):
        strip_unused_trailing_params(ptx.replace("[k_param_0]", "[k_param_3]"), 2)
    with pytest.raises(ValueError, match="fewer"):
        strip_unused_trailing_params(ptx, 5)


# --- NVIDIA's tensorrt.plugin over a stand-in core --------------------------------------------------------


def _bindings_dir(cache_root: Path, version: str) -> Path:
    """The ``tensorrt_bindings`` folder of the pinned wheel (only its pure-Python ``plugin`` package unpacked)."""
    target = cache_root / version
    if (target / "tensorrt_bindings" / "plugin" / "_lib.py").exists():
        return target / "tensorrt_bindings"
    download = cache_root / f"{version}-wheel"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", f"tensorrt-cu12-bindings=={version}", "-d", str(download)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot download tensorrt-cu12-bindings=={version}: {exc}")
    wheels = sorted(download.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        pytest.skip(f"cannot download tensorrt-cu12-bindings=={version} from PyPI: {proc.stderr.strip()[-300:]}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        members = [m for m in wheel.namelist() if m.startswith("tensorrt_bindings/plugin/") and m.endswith(".py")]
        wheel.extractall(target, members)
    return target / "tensorrt_bindings"


@pytest.fixture(params=BINDINGS_VERSIONS, ids=[f"bindings-{v}" for v in BINDINGS_VERSIONS])
def plugins(request, monkeypatch, tmp_path_factory):
    """(stand-in tensorrt, dynamic_conv.trt, attention_aggregate.trt) with the plugins registered through
    NVIDIA's real tensorrt.plugin of one wheel version; everything is unloaded afterwards."""
    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("a real TensorRT is installed; the stand-in would shadow it")
    if os.environ.get("TRITON_INTERPRET") == "1":
        pytest.skip("TRITON_INTERPRET=1: aot_impl cannot compile interpreted kernels")
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    root = Path(cache.mkdir("tensorrt-cu12-bindings")) if cache is not None else tmp_path_factory.mktemp("tensorrt-cu12-bindings")
    bindings = _bindings_dir(root, request.param)
    try:
        with warnings.catch_warnings():  # NVIDIA's docstrings hold "\s" escapes (DeprecationWarning when compiled)
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", SyntaxWarning)
            trt = trt_standin.install(bindings)
        modules = [_fresh(name) for name in PLUGIN_MODULES]
        for module in modules:
            monkeypatch.setattr(module, "build_target", lambda: BuildTarget(80, "12.8"))  # no GPU: build for sm_80
        yield (trt, *modules)
    finally:
        trt_standin.uninstall()
        for name in PLUGIN_MODULES:
            _fresh(name)  # back to the TensorRT-less modules


def _fields(trt, **attrs):
    """Plugin fields as TensorRT's ONNX parser passes node attributes: INT -> int32[1], INTS -> int32[n]."""
    return trt.PluginFieldCollection(
        [trt.PluginField(k, np.atleast_1d(np.asarray(v, dtype=np.int32)), trt.PluginFieldType.INT32) for k, v in attrs.items()]
    )


def _create(trt, plugin_name: str, fields, aot: bool):
    namespace, name = plugin_name.split("::")
    creator = trt.get_plugin_registry().get_creator(name, "1", namespace)
    assert creator is not None, f"{plugin_name} is not in the plugin registry"
    request = trt.QuickPluginCreationRequest.STRICT_AOT if aot else trt.QuickPluginCreationRequest.STRICT_JIT
    return creator.create_plugin(name, namespace, fields, trt.TensorRTPhase.BUILD, request)


def _descs(trt, shapes, dtypes):
    return [trt.DynamicPluginTensorDesc(trt.PluginTensorDesc(dims, dt, trt.TensorFormat.LINEAR)) for dims, dt in zip(shapes, dtypes)]


def _shape_pass(plugin, trt, builder, input_dims, dtypes, sizes):
    """The dtype pass (fake shapes) then the shape pass (symbolic); output dims evaluated for ``sizes``."""
    assert plugin.get_output_data_types(list(dtypes), [len(d) for d in input_dims]) == [dtypes[0]]
    (out,) = plugin.get_output_shapes(input_dims, [], builder)
    return [trt_standin.evaluate(d, sizes) for d in out]


def test_decorators_pass_validation_and_register(plugins):
    trt, dc, aa = plugins
    import tensorrt.plugin._lib as lib

    for module in (dc, aa):
        assert module.REGISTERED and module.AOT_REGISTERED
        plugin_def = lib.QDP_REGISTRY[module.PLUGIN_NAME]
        assert tuple(plugin_def.input_attrs) == module.ATTRIBUTES
        # TensorRT calls aot_impl with every attribute positionally, in order: all declared, in that order
        assert plugin_def.aot_impl_attr_names == list(module.ATTRIBUTES) == plugin_def.impl_attr_names
        assert plugin_def.expects_tactic and plugin_def.num_outputs == 1
        namespace, name = module.PLUGIN_NAME.split("::")
        assert trt.get_plugin_registry().get_creator(name, "1", namespace) is not None
    from inpaint.ops import trt_plugins

    assert trt_plugins.register_all() == ["inpaint::MaskAwareDynamicConv", "inpaint::MaskedAttentionAggregate"]


@pytest.mark.parametrize("k,s,p", MADF_LEVELS)
def test_dynamic_conv_shapes_autotune_and_aot_launch(plugins, k, s, p):
    trt, dc, _ = plugins
    from inpaint.ops.dynamic_conv import triton as kernels
    from inpaint.ops.dynamic_conv.contract import DynamicConvSpec

    c_in, c_out, c_m = 6, 16, 16
    spec = DynamicConvSpec(c_in, c_out, c_m, k, s, p)
    builder = trt_standin.ExprBuilder()
    ho, wo = builder.symbol("Ho"), builder.symbol("Wo")
    input_dims = [builder.dims("N", c_in, "H", "W"), [builder.symbol("N"), builder.constant(c_m), ho, wo], builder.dims(spec.generator_channels, c_m, 1, 1), builder.dims(spec.generator_channels)]
    fields = _fields(trt, kernel_size=k, stride=s, pad=p)
    for aot in (False, True):
        for dtype in (trt.float32, trt.float16, trt.bfloat16):
            plugin = _create(trt, dc.PLUGIN_NAME, fields, aot)
            for n, h, w in [(1, 16, 16), (3, 13, 21), (2, 256, 384)]:
                h_out, w_out = spec.out_size(h, w)
                sizes = {"N": n, "H": h, "W": w, "Ho": h_out, "Wo": w_out}
                assert _shape_pass(plugin, trt, builder, input_dims, [dtype] * 4, sizes) == [n, c_out, h_out, w_out]

            in_out = _descs(trt, [(2, c_in, 13, 21), (2, c_m, *spec.out_size(13, 21)), (spec.generator_channels, c_m, 1, 1), (spec.generator_channels,), (2, c_out, *spec.out_size(13, 21))], [dtype] * 5)
            combos = plugin.get_supported_format_combinations(in_out, 4)
            types = {tuple(d.type for d in combos[i : i + 5]) for i in range(0, len(combos), 5)}
            f, h16, b16 = trt.float32, trt.float16, trt.bfloat16
            assert types == {(f,) * 5, (h16,) * 5, (b16,) * 5, (h16, h16, f, f, h16), (b16, b16, f, f, b16)}
            assert {d.format for d in combos} == {trt.TensorFormat.LINEAR}
            if not aot:
                continue
            plugin.configure_plugin(in_out[:4], in_out[4:])
            assert sorted(plugin.get_valid_tactics()) == list(dc.TACTICS)
            for tactic in dc.TACTICS:
                plugin.set_tactic(tactic)
                launch, setter = trt_standin.LaunchParams(), trt_standin.SymExprSetter()
                plugin.get_launch_params(input_dims, in_out, 4, launch, setter, builder)
                name, ptx = plugin.get_kernel([d.desc for d in in_out[:4]], [in_out[4].desc])
                from inpaint.ops.triton_aot import entry_params

                assert name.startswith("inpaint_dynamic_conv_") and len(entry_params(ptx.decode())) == 4 + setter.nbSymExprs + 1
                for n, h, w in [(1, 16, 16), (3, 13, 21)]:
                    h_out, w_out = spec.out_size(h, w)
                    sizes = {"N": n, "H": h, "W": w, "Ho": h_out, "Wo": w_out}
                    extra = [trt_standin.evaluate(setter.items[i], sizes) for i in range(setter.nbSymExprs)]
                    assert all(setter.items[i].dtype == trt.PluginArgDataType.INT32 for i in range(setter.nbSymExprs))
                    assert tuple(extra) == kernels.kernel_scalars((n, c_in, h, w), (n, c_m, h_out, w_out), (n, c_out, h_out, w_out))
                    grid = tuple(trt_standin.evaluate(getattr(launch, a), sizes) for a in ("grid_x", "grid_y", "grid_z"))
                    assert grid == kernels.launch_grid(n, h_out, w_out, c_out, kernels.TACTIC_BLOCK_P[tactic - 1])
                    assert trt_standin.evaluate(launch.block_x, sizes) == kernels.NUM_WARPS * 32


@pytest.mark.parametrize("rate_attr", [[0, 0], [2, 3]])
def test_attention_aggregate_shapes_autotune_and_aot_launch(plugins, rate_attr):
    trt, _, aa = plugins
    from inpaint.ops.attention_aggregate import triton as kernels

    builder = trt_standin.ExprBuilder()
    c, tokens = 8, 256
    input_dims = [builder.dims("N", c, "H", "W"), builder.dims("N", tokens, tokens)]
    fields = _fields(trt, rate=rate_attr)
    for aot in (False, True):
        for dtypes in ([trt.float32] * 2, [trt.float16] * 2, [trt.float16, trt.float32], [trt.bfloat16, trt.float32]):
            plugin = _create(trt, aa.PLUGIN_NAME, fields, aot)
            for n, rh, rw in [(1, 1, 1), (2, 2, 3), (1, 4, 4)]:
                sizes = {"N": n, "H": 16 * rh, "W": 16 * rw}
                assert _shape_pass(plugin, trt, builder, input_dims, dtypes, sizes) == [n, c, 16 * rh, 16 * rw]
            in_out = _descs(trt, [(2, c, 32, 48), (2, tokens, tokens), (2, c, 32, 48)], [*dtypes, dtypes[0]])
            combos = plugin.get_supported_format_combinations(in_out, 2)
            types = {tuple(d.type for d in combos[i : i + 3]) for i in range(0, len(combos), 3)}
            f, h16, b16 = trt.float32, trt.float16, trt.bfloat16
            assert types == {(f,) * 3, (h16,) * 3, (b16,) * 3, (h16, f, h16), (b16, f, b16)}
            if not aot:
                continue
            plugin.configure_plugin(in_out[:2], in_out[2:])
            for tactic in aa.TACTICS:
                plugin.set_tactic(tactic)
                launch, setter = trt_standin.LaunchParams(), trt_standin.SymExprSetter()
                plugin.get_launch_params(input_dims, in_out, 2, launch, setter, builder)
                name, ptx = plugin.get_kernel([d.desc for d in in_out[:2]], [in_out[2].desc])
                from inpaint.ops.triton_aot import entry_params

                assert name.startswith("inpaint_attention_aggregate_") and len(entry_params(ptx.decode())) == 2 + setter.nbSymExprs + 1
                for n, rh, rw in [(1, 1, 1), (2, 2, 3)]:
                    sizes = {"N": n, "H": 16 * rh, "W": 16 * rw}
                    extra = tuple(trt_standin.evaluate(setter.items[i], sizes) for i in range(setter.nbSymExprs))
                    assert extra == kernels.kernel_scalars((n, c, 16 * rh, 16 * rw), (rh, rw))
                    grid = tuple(trt_standin.evaluate(getattr(launch, a), sizes) for a in ("grid_x", "grid_y", "grid_z"))
                    assert grid == kernels.launch_grid(n, c, 16 * rh, 16 * rw, kernels.TACTIC_BLOCK_P[tactic - 1])


def test_attention_aot_needs_a_constant_token_count(plugins):
    trt, _, aa = plugins
    builder = trt_standin.ExprBuilder()
    input_dims = [builder.dims("N", 8, "H", "W"), builder.dims("N", "L", "L")]
    plugin = _create(trt, aa.PLUGIN_NAME, _fields(trt, rate=[0, 0]), aot=True)
    _shape_pass(plugin, trt, builder, input_dims, [trt.float32] * 2, {"N": 1, "H": 16, "W": 16, "L": 256})
    in_out = _descs(trt, [(1, 8, 16, 16), (1, 256, 256), (1, 8, 16, 16)], [trt.float32] * 3)
    plugin.get_supported_format_combinations(in_out, 2)
    plugin.configure_plugin(in_out[:2], in_out[2:])
    plugin.set_tactic(1)
    with pytest.raises(ValueError, match="build-time constant"):
        plugin.get_launch_params(input_dims, in_out, 2, trt_standin.LaunchParams(), trt_standin.SymExprSetter(), builder)


# --- the ONNX node side --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported_nodes():
    """The ``inpaint`` nodes of a tiny plugin graph with both operators (exported before any stand-in is loaded:
    torch.export looks the ``tensorrt`` module up)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from inpaint.ops.attention_aggregate.op import masked_attention_aggregate
    from inpaint.ops.dynamic_conv.op import mask_aware_dynamic_conv
    from inpaint.ops.mode import export_mode

    class Both(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(2 * 9 * 4, 3, 1, 1))
            self.bias = torch.nn.Parameter(torch.randn(2 * 9 * 4))

        def forward(self, e, m, scores):
            y = mask_aware_dynamic_conv(e, m, self.weight, self.bias, 3, 2, 1)  # (1, 4, 8, 8)
            return masked_attention_aggregate(y, scores)  # g = 4, rate 2

    args = (torch.randn(1, 2, 16, 16), torch.rand(1, 3, 8, 8), torch.softmax(torch.randn(1, 16, 16), -1))
    with export_mode(custom_nodes=True), torch.no_grad():
        proto = torch.onnx.export(Both().eval(), args, dynamo=True, verbose=False).model_proto
    return {n.op_type: n for n in proto.graph.node if n.domain == "inpaint"}


def test_exported_nodes_carry_the_plugins_attributes_in_order(exported_nodes, plugins):
    """A plugin graph's nodes: the op's attributes in the plugin's declared order, with the ONNX types the
    parser turns into the declared int32 arrays; then plugin_namespace and aot for the parser. The nodes'
    own attributes (what the parser passes) create the plugins."""
    onnx = pytest.importorskip("onnx")
    trt, dc, aa = plugins
    nodes = exported_nodes
    A = onnx.AttributeProto
    for module, expected_types in ((dc, [A.INT] * 3), (aa, [A.INTS])):
        node = nodes[module.PLUGIN_NAME.split("::")[1]]
        names = [a.name for a in node.attribute]
        assert names == [*module.ATTRIBUTES, "plugin_namespace", "aot"]
        assert [a.type for a in node.attribute] == [*expected_types, A.STRING, A.INT]
        assert node.attribute[-2].s == b"inpaint" and node.attribute[-1].i == 1
        fields = _fields(trt, **{a.name: a.i if a.type == A.INT else list(a.ints) for a in node.attribute[: len(module.ATTRIBUTES)]})
        plugin = _create(trt, module.PLUGIN_NAME, fields, aot=True)
        assert list(plugin.attrs) == list(module.ATTRIBUTES)
        assert all(v.dtype == np.int32 for v in plugin.attrs.values())
    assert list(nodes["MaskedAttentionAggregate"].attribute[0].ints) == [2, 2]
