import pytest
import torch

from inpaint.errors import UserError
from inpaint.models import build_model, list_models, model_from_config


def test_paper_madf_parameter_count():
    # the authors' net.py has 85,141,214; 1,248 of them sit in an encoder BatchNorm that never runs
    model = build_model("madf")
    assert sum(p.numel() for p in model.parameters()) == 85_139_966


def test_unknown_name_suggests():
    with pytest.raises(UserError, match="did you mean 'madf-s'"):
        build_model("madf_s")


def test_none_overrides_dropped_and_config_rebuilds():
    model = build_model("madf-t", refinements=None, pn_hidden=4)
    assert model.config["args"]["pn_hidden"] == 4
    clone = model_from_config(model.config)
    assert [p.shape for p in clone.parameters()] == [p.shape for p in model.parameters()]


@pytest.mark.parametrize("name", [n for n in list_models() if n.endswith("-t")])
def test_every_tiny_preset_interface(name):
    """forward(image, mask): any size, [0,1] output, known pixels exactly the input's."""
    torch.manual_seed(0)
    model = build_model(name).eval()
    image = torch.rand(2, 3, 37, 53)
    mask = (torch.rand(2, 1, 37, 53) > 0.6).float()
    with torch.no_grad():
        out = model(image, mask)
    assert out.shape == image.shape
    assert out.min() >= 0 and out.max() <= 1
    known = (mask == 0).expand_as(image)
    assert torch.equal(out[known], image[known])
    assert not torch.equal(out[~known], image[~known])
