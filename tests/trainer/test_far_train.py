"""FAR training on the tiny preset: it learns a fixed batch, it resumes exactly, ``inpaint train far`` runs."""

import pytest
import torch
from torch import nn

from inpaint.cli.main import main
from inpaint.models import build_model
from inpaint.models.checkpoint import load_model, save_model
from inpaint.models.registry import build_family
from inpaint.trainer.config import TrainConfig
from inpaint.trainer.discriminator import PatchDiscriminator
from inpaint.trainer.far import FARTask, lr_factor
from inpaint.trainer.losses.far import HRFPerceptualLoss
from inpaint.trainer.loop import StepContext, Trainer
from inpaint.trainer.state import load_train_state

SIZE = 128  # the smallest FAR input (H, W multiples of 128)


class _TinyEncoder(nn.Module):
    """Stands in for the ResNet50 (too slow here) to exercise the HRF path: two frozen conv feature maps."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv2d(3, 4, 3, 2, 1), nn.Conv2d(4, 4, 3, 2, 1)
        self.requires_grad_(False)

    def forward(self, x):
        f = torch.relu(self.a(x))
        return [f, torch.relu(self.b(f))]


def _small_disc():
    """A narrower PatchGAN than the paper's (ndf 16, 3 strided convs) to keep the CPU tests fast."""
    return PatchDiscriminator(ndf=16, n_layers=3)


def _batch():
    """One photo-like image (smooth colours, not noise) with a rectangular hole: one image keeps the CPU test short."""
    g = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.interpolate(torch.rand(1, 3, 4, 4, generator=g), size=SIZE, mode="bilinear")
    mask = torch.zeros(1, 1, SIZE, SIZE)
    mask[..., 20:70, 30:90] = 1
    return {"image": smooth, "mask": mask}


def test_far_t_overfits_a_fixed_batch():
    torch.manual_seed(0)
    model = build_model("far-t")
    task = FARTask(model, HRFPerceptualLoss(_TinyEncoder()), _small_disc(), lr=5e-3)
    ctx = StepContext(task.trainable(), task.optimizers(), torch.device("cpu"), "off")
    batch = _batch()
    model.train()
    mae_before = [p.clone() for p in model.mae.parameters()]
    history = [task.training_step(batch, ctx) for _ in range(16)]
    first, last = history[0], history[-1]
    assert set(first) == {"total", "l1", "adv", "fm", "hrf", "d_total", "d_real", "d_fake", "r1"}
    # measured: l1 1.58 -> 1.01, l1 + adv 9.0 -> 5.3, total 46.7 -> 7.1 (D still learning: 1.96 -> 0.91)
    assert last["l1"] < 0.75 * first["l1"], [round(h["l1"], 3) for h in history]
    assert last["l1"] + last["adv"] < 0.75 * (first["l1"] + first["adv"]), [round(h["l1"] + h["adv"], 3) for h in history]
    assert last["total"] < 0.3 * first["total"] and last["d_total"] < first["d_total"]
    assert first["r1"] > 0 and all(torch.equal(a, b) for a, b in zip(mae_before, model.mae.parameters()))
    assert not model.mae.training and all(p.requires_grad for p in task.disc.parameters())


def test_learning_rate_milestones():
    assert [lr_factor(s) for s in (0, 600_000, 600_001, 700_001, 800_001)] == [1, 1, 0.5, 0.25, 0.125]


def _cfg(photo_folder, out, steps):
    return TrainConfig(task="far", preset="far-t", data=str(photo_folder), out=str(out), size=SIZE, batch=2, steps=steps,
                       workers=0, ckpt_every=1, val_every=1000)


def _trainer(cfg, resume=False):
    torch.manual_seed(0)
    return Trainer(FARTask(build_model("far-t", train_size=cfg.size), discriminator=_small_disc()), cfg, resume=resume)


def test_resume_is_exact(photo_folder, tmp_path):
    straight = _trainer(_cfg(photo_folder, tmp_path / "a", steps=2))
    straight.fit()
    _trainer(_cfg(photo_folder, tmp_path / "b", steps=1)).fit()
    cfg = TrainConfig.load(tmp_path / "b" / "train_config.json")
    cfg.steps = 2
    resumed = _trainer(cfg, resume=True)
    resumed.fit()
    assert resumed.step == 2 and len(resumed.history) == 1
    assert resumed.history[-1] == straight.history[-1]  # every loss term, generator and discriminator
    a, b = load_model(tmp_path / "a" / "last.safetensors"), load_model(tmp_path / "b" / "last.safetensors")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    disc_a = load_train_state(tmp_path / "a" / "last.state.safetensors")[1]["module.disc"]
    disc_b = load_train_state(tmp_path / "b" / "last.state.safetensors")[1]["module.disc"]
    assert disc_a.keys() == _small_disc().state_dict().keys()
    assert all(torch.equal(disc_a[k], disc_b[k]) for k in disc_a)


def test_cli_train_far(photo_folder, tmp_path, capsys, caplog):
    mae = build_model("mae-t")
    with torch.no_grad():
        mae.net.mask_token.fill_(0.25)  # something the FAR checkpoint must carry over
    save_model(mae, tmp_path / "mae.safetensors")
    args = ["--data", str(photo_folder), "--preset", "far-t", "--size", str(SIZE), "--batch", "1", "--workers", "0"]
    run = tmp_path / "run"
    assert main(["train", "far", *args, "--out", str(run), "--steps", "1", "--mae", str(tmp_path / "mae.safetensors")]) == 0
    assert "step 1" in capsys.readouterr().out and "--seg-weights" in caplog.text
    far = load_model(run / "last.safetensors")
    assert far.config["preset"] == "far-t" and torch.equal(far.mae.net.mask_token, mae.net.mask_token)

    assert main(["train", "far", *args, "--out", str(tmp_path / "r2")]) == 2
    assert "--mae" in capsys.readouterr().err
    other = build_family("mae", "mae-s", **mae.config["args"])  # metadata says mae-s
    save_model(other, tmp_path / "mae_s.safetensors")
    assert main(["train", "far", *args, "--out", str(tmp_path / "r3"), "--mae", str(tmp_path / "mae_s.safetensors")]) == 2
    err = capsys.readouterr().err.strip()
    assert "'mae-s'" in err and "mae-t" in err and len(err.splitlines()) == 1
    save_model(build_model("madf-t"), tmp_path / "madf.safetensors")
    assert main(["train", "far", *args, "--out", str(tmp_path / "r4"), "--mae", str(tmp_path / "madf.safetensors")]) == 2
    assert "not an MAE" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [["--preset", "madf-t"], ["--preset", "mae-t"], ["--size", "192"], ["--lr-d", "0"], ["--seg-weights", "nope.pth"]])
def test_cli_bad_arguments(photo_folder, tmp_path, capsys, bad):
    save_model(build_model("mae-t"), tmp_path / "mae.safetensors")
    args = ["--data", str(photo_folder), "--preset", "far-t", "--size", str(SIZE), "--mae", str(tmp_path / "mae.safetensors"), "--out", str(tmp_path / "r")]
    assert main(["train", "far", *args, *bad]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
