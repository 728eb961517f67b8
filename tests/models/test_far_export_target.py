"""``target`` at export: FAR's FFTs as ONNX ``DFT`` nodes for ONNX Runtime's CPU (``onnx-cpu``), as DFT-matrix
products for ``onnx-cuda`` and ``trt``; both graphs compute the same image on ONNX Runtime (1e-4)."""

import numpy as np
import onnx
import pytest

from inpaint.errors import UserError
from inpaint.export import contract as C
from inpaint.export.onnx import export_onnx
from inpaint.export.verify import onnx_session, verify_onnx
from inpaint.runtime.bench import bench_inputs

from tests.models.test_far_export import far_t_switched_on, graph_ops

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    root = tmp_path_factory.mktemp("far_targets")
    model = far_t_switched_on()
    paths = {t: export_onnx(model, root / f"{t}.onnx", ops="standard", target=t) for t in (C.TARGET_ONNX_CPU, C.TARGET_TRT)}
    return model, paths


def test_dft_nodes_only_for_onnx_cpu_and_target_in_metadata(graphs):
    _, paths = graphs
    for target, path in paths.items():
        proto = onnx.load(str(path))
        meta = {p.key: p.value for p in proto.metadata_props}
        assert meta[C.KEY_TARGET] == target
        ops = [op for _, op in graph_ops(proto)]
        assert "ConvTranspose" not in ops  # the transposed convs are phase convolutions in every target
        if target == C.TARGET_ONNX_CPU:
            assert ops.count("DFT") >= 4  # rfft2 + irfft2 of the FFC block, one DFT per axis
        else:
            assert "DFT" not in ops and {"Cos", "Sin"} <= set(ops)


def test_dft_graph_equals_matrix_graph_and_pytorch(graphs):
    model, paths = graphs
    image, mask = bench_inputs(256, 128, 2)
    image[1] = image[1, :, ::-1].copy()
    outs = [onnx_session(p).run([C.OUTPUT], {C.INPUT_IMAGE: image, C.INPUT_MASK: mask})[0] for p in paths.values()]
    assert np.abs(outs[0] - outs[1]).max() <= 1e-4
    assert outs[0][mask.repeat(3, 1) > 0].std() > 0.01  # the hole is the network's, not a constant
    assert all(c.max_abs_err <= 1e-4 for c in verify_onnx(model, paths[C.TARGET_ONNX_CPU]))


def test_graphs_follow_the_masks_token_count(graphs):
    """The MAE encoder's token count is the mask's (ONNX NonZero): no hole, all hole and a batch of two
    different masks all give PyTorch's image."""
    import torch

    model, paths = graphs
    image, _ = bench_inputs(256, 128, 2)
    half = np.zeros((2, 1, 256, 256), np.float32)
    half[0, :, :, :100] = 1
    half[1, :, 150:, :] = 1
    for mask in (np.zeros_like(half), np.ones_like(half), half):
        with torch.no_grad():
            want = model.predict(torch.from_numpy(image), torch.from_numpy(mask)).clamp(0, 1).numpy()
        want = np.where(mask > 0.5, want, image)
        for path in paths.values():
            got = onnx_session(path).run([C.OUTPUT], {C.INPUT_IMAGE: image, C.INPUT_MASK: mask})[0]
            assert np.abs(got - want).max() <= 1e-4


def test_unknown_target_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="--target onnx-gpu"):
        export_onnx(far_t_switched_on(), tmp_path / "x.onnx", ops="standard", target="onnx-gpu")


def test_export_cli_target_option_and_default(tmp_path, capsys):
    import torch

    from inpaint.cli.main import main
    from inpaint.models import build_model
    from inpaint.models.checkpoint import save_model

    torch.manual_seed(0)
    ckpt = save_model(build_model("madf-t"), tmp_path / "m.safetensors")
    for args, want in [([], C.TARGET_ONNX_CUDA), (["--target", "onnx-cpu"], C.TARGET_ONNX_CPU)]:
        out = tmp_path / f"m-{want}.onnx"
        assert main(["export", str(ckpt), "--ops", "standard", *args, "-o", str(out)]) == 0
        assert f"target {want}" in capsys.readouterr().out
        assert {p.key: p.value for p in onnx.load(str(out)).metadata_props}[C.KEY_TARGET] == want
    assert main(["export", str(ckpt), "--target", "gpu", "-o", str(tmp_path / "x.onnx")]) == 2
