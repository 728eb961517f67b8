"""The trainer on the tiny MADF preset: it learns, it resumes exactly, its checkpoints round-trip."""

import json

import pytest
import torch

from inpaint.errors import UserError
from inpaint.models import build_model
from inpaint.models.checkpoint import load_model, read_metadata
from inpaint.trainer.config import TrainConfig
from inpaint.trainer.loop import StepContext, Trainer
from inpaint.trainer.madf import MADFTask


def _cfg(photo_folder, out, steps, **kw):
    return TrainConfig(task="madf", preset="madf-t", data=str(photo_folder), out=str(out), size=32, batch=2, steps=steps,
                       workers=0, ckpt_every=2, val_every=1000, **kw)


def _trainer(cfg, resume=False):
    torch.manual_seed(0)
    return Trainer(MADFTask(build_model("madf-t", train_size=cfg.size), None), cfg, resume=resume)


def test_tiny_preset_overfits_one_batch():
    torch.manual_seed(0)
    model = build_model("madf-t")
    task = MADFTask(model, None, lr=5e-3)
    ctx = StepContext({"net": model.net}, task.optimizers(), torch.device("cpu"), "off")
    g = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.interpolate(torch.rand(4, 3, 4, 4, generator=g), size=32, mode="bilinear")  # photo-like, not noise
    batch = {"image": smooth, "mask": (torch.rand(4, 1, 32, 32, generator=g) > 0.7).float()}
    model.train()
    losses = [task.training_step(batch, ctx)["total"] for _ in range(40)]
    assert losses[-1] < 0.5 * losses[0], losses


def test_resume_is_exact(photo_folder, tmp_path):
    straight = _trainer(_cfg(photo_folder, tmp_path / "a", steps=5))
    straight.fit()
    first = _trainer(_cfg(photo_folder, tmp_path / "b", steps=4))
    first.fit()
    assert read_metadata(tmp_path / "b" / "last.safetensors")["step"] == "4"
    cfg = TrainConfig.load(tmp_path / "b" / "train_config.json")
    cfg.steps = 5
    resumed = _trainer(cfg, resume=True)
    resumed.fit()
    assert resumed.step == 5 and len(resumed.history) == 1
    assert resumed.history[-1]["total"] == straight.history[-1]["total"]
    a, b = load_model(tmp_path / "a" / "last.safetensors"), load_model(tmp_path / "b" / "last.safetensors")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_checkpoint_round_trip_and_run_folder(photo_folder, tmp_path):
    trainer = _trainer(_cfg(photo_folder, tmp_path / "run", steps=2, val=str(photo_folder), val_count=2))
    summary = trainer.fit()
    run = tmp_path / "run"
    assert {"last.safetensors", "last.state.safetensors", "best.safetensors", "train_config.json"} <= {p.name for p in run.iterdir()}
    assert summary["val_psnr"] > 5
    meta = read_metadata(run / "last.safetensors")
    assert json.loads(meta["config"])["preset"] == "madf-t" and meta["step"] == "2"
    model = load_model(run / "last.safetensors")
    image, mask = torch.rand(1, 3, 32, 32), (torch.rand(1, 1, 32, 32) > 0.5).float()
    trainer.task.model.eval()
    with torch.no_grad():
        assert torch.equal(model(image, mask), trainer.task.model(image, mask))
    assert list((run / "tb").iterdir()), "TensorBoard events written"


def test_existing_run_is_not_overwritten(photo_folder, tmp_path):
    _trainer(_cfg(photo_folder, tmp_path / "run", steps=2)).fit()
    before = (tmp_path / "run" / "last.safetensors").read_bytes()
    with pytest.raises(UserError, match="--resume"):
        _trainer(_cfg(photo_folder, tmp_path / "run", steps=2)).fit()
    assert (tmp_path / "run" / "last.safetensors").read_bytes() == before


def _interrupt_at(trainer, monkeypatch, call: int, action) -> None:
    """Make the ``call``-th training step run ``action()`` first (an interruption arriving mid-run)."""
    calls = {"n": 0}
    step = trainer.task.training_step

    def wrapped(batch, ctx):
        calls["n"] += 1
        if calls["n"] == call:
            action()
        return step(batch, ctx)

    monkeypatch.setattr(trainer.task, "training_step", wrapped)


def test_ctrl_c_writes_a_checkpoint(photo_folder, tmp_path, monkeypatch):
    from inpaint.trainer.loop import TrainingInterrupted

    trainer = _trainer(_cfg(photo_folder, tmp_path / "run", steps=50))

    def ctrl_c():
        raise KeyboardInterrupt

    _interrupt_at(trainer, monkeypatch, 4, ctrl_c)
    with pytest.raises(TrainingInterrupted):
        trainer.fit()
    assert read_metadata(tmp_path / "run" / "last.safetensors")["step"] == "3"


def test_sigterm_writes_a_checkpoint(photo_folder, tmp_path, monkeypatch):
    """A scheduler's SIGTERM (preemption) ends the run like Ctrl-C: a checkpoint first."""
    import os
    import signal

    from inpaint.trainer.loop import TrainingInterrupted

    trainer = _trainer(_cfg(photo_folder, tmp_path / "run", steps=50))
    _interrupt_at(trainer, monkeypatch, 3, lambda: os.kill(os.getpid(), signal.SIGTERM))
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingInterrupted):
        trainer.fit()
    assert read_metadata(tmp_path / "run" / "last.safetensors")["step"] in {"2", "3"}
    assert signal.getsignal(signal.SIGTERM) is before
