"""``inpaint convert far|mae``: small files in the FAR authors' layouts, converted from the command line, reproduce
the authors' networks (the functional re-statements in tests/models), and strictness errors name the key."""

import numpy as np
import pytest
import torch

from inpaint.cli.main import main
from inpaint.models.checkpoint import load_model, read_metadata
from tests.models import test_far as far_ref
from tests.models import test_mae_authors as mae_ref

pytestmark = pytest.mark.usefixtures("one_thread")


def _far_case(seed=3, size=128):
    rng, g = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    masks = [far_ref.random_mask(rng, size, size, kind) for kind in (1, 2)]
    mask = torch.from_numpy(np.stack(masks) / 255.0).float()[:, None]
    image = torch.rand(2, 3, size, size, generator=g)
    feats = torch.randn(2, 32, 16, 16, generator=g)
    scores = torch.softmax(3 * torch.randn(2, 256, 256, generator=g), -1)
    index, dirs = zip(*(far_ref.reference_mpe(m) for m in masks))
    return image, mask, feats, scores, torch.from_numpy(np.stack(index)).long(), torch.from_numpy(np.stack(dirs))


def test_convert_far_generator_file_with_mae(tmp_path, capsys):
    acr, mae = far_ref.authors_acr_state(seed=0), mae_ref.authors_state_dict(seed=2)
    torch.save({"generator": {k[2:]: v for k, v in acr.items() if k.startswith("G.")},
                "gc_encoder": {k[4:]: v for k, v in acr.items() if k.startswith("GCs.")}}, tmp_path / "G_last.pth")
    mae_ref._pretrain_file(tmp_path / "mae.pth", mae)
    dst = tmp_path / "far.safetensors"
    assert main(["convert", "far", str(tmp_path / "G_last.pth"), str(dst), "--mae", str(tmp_path / "mae.pth"), "--preset", "far-t"]) == 0
    assert "far-t" in capsys.readouterr().out
    model = load_model(dst)
    assert model.config["preset"] == "far-t" and read_metadata(dst)["source"] == "MAE-FAR:G_last.pth+mae.pth"
    image, mask, feats, scores, index, dirs = _far_case()
    with torch.no_grad():
        ours, theirs = model.net(image, mask, feats, scores), far_ref.authors_forward(acr, image, mask, feats, scores, index, dirs)
    assert theirs.std() > 0.05 and (ours - theirs).abs().max() < 2e-5
    mae_ref._check_against_reference(model.mae, mae)  # the MAE inside the FAR file is the authors' MAE


def test_convert_far_lightning_checkpoint(tmp_path):
    acr, mae = far_ref.authors_acr_state(seed=4), mae_ref.authors_state_dict(seed=5)
    state = {**{f"acr.{k}": v for k, v in acr.items()}, **{f"mae.{k}": v for k, v in mae.items()}, "D.model0.0.weight": torch.zeros(2)}
    torch.save({"state_dict": state, "epoch": 3}, tmp_path / "last.ckpt")
    assert main(["convert", "far", str(tmp_path / "last.ckpt"), str(tmp_path / "far.safetensors"), "--preset", "far-t"]) == 0
    model = load_model(tmp_path / "far.safetensors")
    image, mask, feats, scores, index, dirs = _far_case(seed=6)
    with torch.no_grad():
        ours, theirs = model.net(image, mask, feats, scores), far_ref.authors_forward(acr, image, mask, feats, scores, index, dirs)
    assert (ours - theirs).abs().max() < 2e-5
    mae_ref._check_against_reference(model.mae, mae)


def test_convert_mae(tmp_path):
    mae = mae_ref.authors_state_dict(seed=7)
    mae_ref._pretrain_file(tmp_path / "checkpoint-199.pth", mae)
    assert main(["convert", "mae", str(tmp_path / "checkpoint-199.pth"), str(tmp_path / "mae.safetensors"), "--preset", "mae-t"]) == 0
    model = load_model(tmp_path / "mae.safetensors")
    assert model.config["preset"] == "mae-t"
    mae_ref._check_against_reference(model, mae)


def test_strictness_errors_name_the_key_and_write_nothing(tmp_path, capsys):
    acr = far_ref.authors_acr_state()
    broken = {k: v for k, v in acr.items() if k != "G.bnt2.bias"}
    broken["GCs.surplus"] = torch.zeros(1)
    torch.save({"generator": {k[2:]: v for k, v in broken.items() if k.startswith("G.")},
                "gc_encoder": {k[4:]: v for k, v in broken.items() if k.startswith("GCs.")}}, tmp_path / "G_last.pth")
    mae_ref._pretrain_file(tmp_path / "mae.pth", mae_ref.authors_state_dict())
    dst = tmp_path / "far.safetensors"
    assert main(["convert", "far", str(tmp_path / "G_last.pth"), str(dst), "--mae", str(tmp_path / "mae.pth"), "--preset", "far-t"]) == 2
    err = capsys.readouterr().err
    assert "GCs.surplus" in err and "up.1.bn.bias" in err and not dst.exists()
    # the generator file alone: the MAE is missing, the message says to give it
    torch.save({"generator": {k[2:]: v for k, v in acr.items() if k.startswith("G.")},
                "gc_encoder": {k[4:]: v for k, v in acr.items() if k.startswith("GCs.")}}, tmp_path / "G_ok.pth")
    assert main(["convert", "far", str(tmp_path / "G_ok.pth"), str(dst), "--preset", "far-t"]) == 2
    assert "MAE checkpoint" in capsys.readouterr().err and not dst.exists()
    mae = mae_ref.authors_state_dict()
    mae["decoder_blocks.0.attn.extra"] = torch.zeros(3)
    del mae["norm.bias"]
    mae_ref._pretrain_file(tmp_path / "bad_mae.pth", mae)
    assert main(["convert", "mae", str(tmp_path / "bad_mae.pth"), str(tmp_path / "mae.safetensors"), "--preset", "mae-t"]) == 2
    err = capsys.readouterr().err
    assert "decoder_blocks.0.attn.extra" in err and "norm.bias" in err and not (tmp_path / "mae.safetensors").exists()
