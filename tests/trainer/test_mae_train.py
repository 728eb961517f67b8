"""MAE pre-training on the tiny preset: mixed masking, schedule, optimiser groups, it learns, it resumes
exactly, and ``inpaint train mae`` runs from the command line."""

import math

import pytest
import torch

from inpaint.cli.main import main
from inpaint.models import build_model
from inpaint.models.checkpoint import load_model, read_metadata
from inpaint.models.mae import patch_masks
from inpaint.trainer.config import TrainConfig
from inpaint.trainer.loop import StepContext, Trainer
from inpaint.trainer.mae import MAETask, cosine_lr, mixed_patch_mask


pytestmark = pytest.mark.usefixtures("one_thread")


def test_mixed_masking_removes_hole_patches_first_then_random_to_75_percent():
    hole = torch.zeros(3, 1, 256, 256)
    hole[0, :, 10:60, 20:100] = 1  # 4 x 6 = 24 patches touched (rows 0-3, columns 1-6)
    hole[2] = 1  # holes everywhere: still exactly 192 removed
    noise = torch.rand(3, 256, generator=torch.Generator().manual_seed(0))
    removed = mixed_patch_mask(hole, 16, noise)
    assert removed.sum(1).tolist() == [192, 192, 192]
    any_hole, _ = patch_masks(hole, 16)
    assert any_hole[0].sum() == 24 and (removed[0][any_hole[0].bool()] == 1).all()
    # without holes, the random part alone: the 64 patches with the smallest noise are kept
    kept = torch.nonzero(removed[1] == 0).flatten()
    assert set(kept.tolist()) == set(torch.argsort(noise[1])[:64].tolist())


def test_schedule_warmup_then_cosine():
    assert cosine_lr(0, 1e-3, 100, 10) == 0 and cosine_lr(5, 1e-3, 100, 10) == pytest.approx(5e-4)
    assert cosine_lr(10, 1e-3, 100, 10) == pytest.approx(1e-3)
    assert cosine_lr(55, 1e-3, 100, 10) == pytest.approx(5e-4)
    assert cosine_lr(100, 1e-3, 100, 10) == pytest.approx(0, abs=1e-12)
    task = MAETask(build_model("mae-t"), total_steps=200, batch=512)
    assert task.warmup_steps == 10 and task.lr == pytest.approx(3e-4)  # 5% warm-up; 1.5e-4 * 512 / 256


def test_weight_decay_groups():
    task = MAETask(build_model("mae-t"), total_steps=10)
    no_decay, decay = task.optimizers()["mae"].param_groups
    names = {id(p): n for n, p in task.model.net.named_parameters()}
    assert no_decay["weight_decay"] == 0 and decay["weight_decay"] == 0.05 and decay["betas"] == (0.9, 0.95)
    assert all(names[id(p)].endswith(("bias", "weight")) and p.ndim == 1 for p in no_decay["params"])
    assert {names[id(p)] for p in decay["params"]} >= {"mask_token", "patch_embed.proj.weight", "blocks.0.attn.qkv.weight"}
    assert len(no_decay["params"]) + len(decay["params"]) == len(names)


def test_tiny_preset_overfits_one_batch():
    torch.manual_seed(0)
    model = build_model("mae-t")
    task = MAETask(model, total_steps=1000, warmup_steps=0, lr=3e-3)
    ctx = StepContext({"net": model.net}, task.optimizers(), torch.device("cpu"), "off")
    g = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.interpolate(torch.rand(2, 3, 4, 4, generator=g), size=256, mode="bilinear")  # photo-like
    hole = torch.zeros(2, 1, 256, 256)
    hole[:, :, 64:160, 80:200] = 1
    batch = {"image": smooth, "mask": hole}
    model.train()
    losses = []
    for step in range(100):
        ctx.global_step = 0  # same patches every step: a fixed batch
        losses.append(task.training_step(batch, ctx)["total"])
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < 0.1 * losses[0], losses


def _cfg(photo_folder, out, steps, **kw):
    return TrainConfig(task="mae", preset="mae-t", data=str(photo_folder), out=str(out), size=32, batch=2, steps=steps,
                       workers=0, ckpt_every=2, val_every=1000, **kw)


def _trainer(cfg, resume=False):
    torch.manual_seed(0)
    task = MAETask(build_model("mae-t"), total_steps=cfg.steps, warmup_steps=2, lr=1e-3, batch=cfg.batch, seed=cfg.seed)
    return Trainer(task, cfg, resume=resume)


def test_resume_is_exact(photo_folder, tmp_path):
    straight = _trainer(_cfg(photo_folder, tmp_path / "a", steps=5))
    straight.fit()
    first = _trainer(_cfg(photo_folder, tmp_path / "b", steps=5))
    first.cfg.steps = 4  # stop early, same schedule (total 5)
    first.fit()
    assert read_metadata(tmp_path / "b" / "last.safetensors")["step"] == "4"
    cfg = TrainConfig.load(tmp_path / "b" / "train_config.json")
    cfg.steps = 5
    resumed = _trainer(cfg, resume=True)
    resumed.fit()
    assert resumed.step == 5 and len(resumed.history) == 1
    assert resumed.history[-1] == straight.history[-1]  # same loss and learning rate
    a, b = load_model(tmp_path / "a" / "last.safetensors"), load_model(tmp_path / "b" / "last.safetensors")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_train_mae_from_cli(tmp_path, capsys, photo_folder):
    run = tmp_path / "run"
    args = ["--data", str(photo_folder), "--out", str(run), "--preset", "mae-t", "--size", "32", "--batch", "2", "--workers", "0",
            "--val", str(photo_folder), "--warmup-steps", "1"]
    assert main(["train", "mae", *args, "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "step 2" in out and "val_psnr" in out
    assert TrainConfig.load(run / "train_config.json").task_args == {"warmup_steps": 1}
    model = load_model(run / "last.safetensors")
    assert model.config["family"] == "mae" and model.config["preset"] == "mae-t"
    assert main(["train", "mae", "--resume", str(run), "--steps", "3"]) == 0
    assert "step 3" in capsys.readouterr().out
    assert main(["train", "mae", *args[:-2], "--out", str(tmp_path / "x"), "--preset", "madf-t"]) == 2
    assert "not an MAE preset" in capsys.readouterr().err
