import torch

from inpaint.models import build_model
from inpaint.models.checkpoint import load_model, read_metadata, save_model


def test_round_trip_float32_and_half(tmp_path):
    torch.manual_seed(0)
    model = build_model("madf-t").eval()
    full = load_model(save_model(model, tmp_path / "a.safetensors", step=7))
    assert read_metadata(tmp_path / "a.safetensors")["step"] == "7"
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), full.state_dict().values()))
    half = load_model(save_model(model, tmp_path / "h.safetensors", half=True))
    assert (tmp_path / "h.safetensors").stat().st_size < 0.6 * (tmp_path / "a.safetensors").stat().st_size
    for (name, a), b in zip(model.state_dict().items(), half.state_dict().values()):
        assert b.dtype == a.dtype, name  # loaded back into the float32 model
        if a.is_floating_point():
            assert torch.equal(b, a.half().float()), name
