"""Push-pull fill and MADF's ``prefill="pushpull"``: torch against the NumPy form ``inpaint eval`` uses, in
training and in ONNX."""

import numpy as np
import pytest
import torch

from inpaint.models import build_model
from inpaint.models.checkpoint import load_model, save_model
from inpaint.models.prefill import push_pull_fill
from inpaint.runtime.baselines import push_pull_fill as numpy_push_pull


@pytest.mark.parametrize("hw,levels", [((64, 96), 4), ((32, 32), 5)])
def test_push_pull_matches_numpy_and_keeps_known_pixels(hw, levels):
    rng = np.random.default_rng(0)
    image = rng.random((*hw, 3))
    known = rng.random(hw) > 0.6
    known[: hw[0] // 2, : hw[1] // 2] = False  # a large hole: coarse levels must fill it
    want = numpy_push_pull(image, known, levels)
    got = push_pull_fill(
        torch.from_numpy(image).permute(2, 0, 1)[None].float(), torch.from_numpy(known)[None, None].float(), levels
    )[0].permute(1, 2, 0).numpy()
    assert np.abs(got - want).max() < 1e-5
    assert np.array_equal(got[known], image[known].astype(np.float32))
    # a fill is an average of known values: inside their range
    assert got.min() >= image[known].min() - 1e-6 and got.max() <= image[known].max() + 1e-6


def test_push_pull_edge_cases():
    ones = torch.ones(1, 1, 16, 16)
    flat = torch.full((1, 3, 16, 16), 0.3)
    hole = ones.clone()
    hole[..., 2:14, 3:9] = 0
    assert torch.allclose(push_pull_fill(flat, hole, 4), flat)  # a constant image is filled with the constant
    assert torch.equal(push_pull_fill(flat, torch.zeros_like(ones), 4), torch.zeros_like(flat))  # nothing known
    with pytest.raises(ValueError, match="multiple of 2"):
        push_pull_fill(flat[..., :15], hole[..., :15], 4)


def test_untrained_pushpull_madf_returns_the_fill_and_trains_as_a_correction(tmp_path):
    torch.manual_seed(0)
    model = build_model("madf-t", prefill="pushpull").eval()
    assert model.config["args"]["prefill"] == "pushpull"
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in build_model("madf-t").parameters())
    image = torch.rand(2, 3, 48, 80)
    hole = (torch.rand(2, 1, 48, 80) > 0.5).float()
    with torch.no_grad():
        out = model(image, hole)
        fill = push_pull_fill(image, 1 - hole, 4)  # the MADF wrapper pads 48x80 to 48x80 (stride 16)
    assert torch.allclose(out, fill.clamp(0, 1), atol=1e-6)
    # outputs are x + correction: a non-zero head moves the output away from the fill
    with torch.no_grad():
        model.net.refine[-1].head.bias.fill_(0.5)
        moved = model(image, hole)
    assert (moved - out).abs()[hole.expand_as(out) > 0].mean() > 0.08  # 0.5 x the ImageNet std, less clamping
    # the setting survives a checkpoint
    save_model(model, tmp_path / "m.safetensors")
    again = load_model(tmp_path / "m.safetensors").eval()
    assert again.prefill == "pushpull"
    with torch.no_grad():
        assert torch.equal(again(image, hole), moved)


def test_unknown_prefill_is_refused():
    with pytest.raises(ValueError, match="prefill"):
        build_model("madf-t", prefill="telea")


def test_pushpull_madf_exports_and_verifies(tmp_path):
    pytest.importorskip("onnxruntime_extensions")
    from inpaint.export.onnx import export_onnx
    from inpaint.export.verify import verify_onnx

    torch.manual_seed(0)
    model = build_model("madf-t", prefill="pushpull").eval()
    with torch.no_grad():  # switch the zero-initialised heads on, so the network's correction is exported too
        for p in model.parameters():
            if not p.abs().sum():
                p.normal_(0, 0.05)
    for ops in ("standard", "plugin"):
        path = export_onnx(model, tmp_path / f"{ops}.onnx", ops=ops, checkpoint_sha256="cd" * 32)
        assert all(case.max_abs_err <= 1e-4 for case in verify_onnx(model, path))


def test_eval_baseline_is_the_same_fill():
    """``inpaint eval --baselines pushpull`` (NumPy, no torch) computes the fill the network starts from."""
    from inpaint.runtime.baselines import baseline

    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    hole = np.zeros((64, 64), bool)
    hole[5:50, 10:30] = True
    hole |= rng.random((64, 64)) > 0.8
    got = baseline("pushpull", rgb, hole)
    want = push_pull_fill(torch.from_numpy(rgb).permute(2, 0, 1)[None].double(), torch.from_numpy(~hole)[None, None].double(), 6)
    want = want[0].permute(1, 2, 0).round().numpy()
    assert np.abs(got.astype(float) - want).max() <= 1
    assert np.array_equal(got[~hole], rgb[~hole])
