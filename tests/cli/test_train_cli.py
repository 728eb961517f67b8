"""``inpaint train`` / ``inpaint convert`` from the command line: exit codes and one-line errors."""

import torch

from inpaint.cli.main import main
from inpaint.models.checkpoint import load_model


def _train(args, capsys):
    code = main(["train", "madf", *args])
    return code, capsys.readouterr().err


def test_empty_data_folder_is_exit_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, err = _train(["--data", str(tmp_path / "empty"), "--out", str(tmp_path / "run"), "--perceptual", "off", "--preset", "madf-t", "--size", "32"], capsys)
    assert code == 2 and "no usable images" in err and len(err.strip().splitlines()) == 1


def test_perceptual_needs_weights(tmp_path, capsys, photo_folder):
    code, err = _train(["--data", str(photo_folder), "--out", str(tmp_path / "run"), "--preset", "madf-t"], capsys)
    assert code == 2 and "--vgg-weights" in err and "--perceptual off" in err
    code, err = _train(["--data", str(photo_folder), "--out", str(tmp_path / "run"), "--preset", "madf-t", "--vgg-weights", str(tmp_path / "nope.pth")], capsys)
    assert code == 2 and "nope.pth" in err


def test_bad_arguments_are_exit_2(tmp_path, capsys, photo_folder):
    base = ["--data", str(photo_folder), "--out", str(tmp_path / "run"), "--perceptual", "off"]
    assert _train([*base, "--preset", "madf-t", "--size", "40"], capsys)[0] == 2  # not a multiple of 16
    assert _train([*base, "--preset", "madf-x"], capsys)[1].count("did you mean") == 1
    assert _train([*base, "--batch", "0"], capsys)[0] == 2
    assert _train([*base, "--resume", str(tmp_path / "nothing")], capsys)[0] == 2
    assert main(["train", "madf", "--bogus"]) == 2


def test_train_then_resume_from_cli(tmp_path, capsys, photo_folder):
    run = tmp_path / "run"
    args = ["--data", str(photo_folder), "--out", str(run), "--perceptual", "off", "--preset", "madf-t", "--size", "32", "--batch", "2", "--workers", "0"]
    assert main(["train", "madf", *args, "--steps", "2"]) == 0
    assert main(["train", "madf", "--resume", str(run), "--steps", "3"]) == 0
    assert "step 3" in capsys.readouterr().out
    assert load_model(run / "last.safetensors").config["preset"] == "madf-t"


def test_convert_authors_checkpoint(tmp_path, capsys):
    from tests.models.test_madf_authors import _save_authors_file, authors_state_dict

    _save_authors_file(tmp_path / "authors.pth", authors_state_dict())
    assert main(["convert", "madf", str(tmp_path / "authors.pth"), str(tmp_path / "m.safetensors"), "--preset", "madf-t"]) == 0
    model = load_model(tmp_path / "m.safetensors")
    assert model.net.encoder[0].mask_conv.weight.shape == (4, 3, 7, 7)
    assert main(["convert", "madf", str(tmp_path / "missing.pth"), str(tmp_path / "x.safetensors")]) == 2
    assert not (tmp_path / "x.safetensors").exists()
    torch.save({"model": {"module.model.unknown": torch.zeros(1)}}, tmp_path / "other.pth")
    assert main(["convert", "madf", str(tmp_path / "other.pth"), str(tmp_path / "x.safetensors"), "--preset", "madf-t"]) == 2


def test_init_starts_a_new_run_from_weights(tmp_path, photo_folder):
    base = ["--data", str(photo_folder), "--perceptual", "off", "--preset", "madf-t", "--size", "32", "--batch", "2", "--workers", "0"]
    assert main(["train", "madf", *base, "--steps", "2", "--out", str(tmp_path / "a")]) == 0
    # a near-zero learning rate: the new run's weights stay those it started from
    assert main(["train", "madf", *base, "--steps", "1", "--lr", "1e-12", "--init", str(tmp_path / "a" / "last.safetensors"), "--out", str(tmp_path / "b")]) == 0
    a, b = load_model(tmp_path / "a" / "last.safetensors"), load_model(tmp_path / "b" / "last.safetensors")
    for (name, x), y in zip(a.net.named_parameters(), b.net.parameters()):
        torch.testing.assert_close(x, y, atol=1e-6, rtol=0, msg=name)
    # another architecture is refused with exit 2
    other = ["--data", str(photo_folder), "--perceptual", "off", "--preset", "madf-s", "--size", "128", "--workers", "0"]
    assert main(["train", "madf", *other, "--steps", "1", "--init", str(tmp_path / "a" / "last.safetensors"), "--out", str(tmp_path / "c")]) == 2


def test_prefill_pushpull_is_recorded_and_resumed(tmp_path, photo_folder):
    base = ["--data", str(photo_folder), "--perceptual", "off", "--preset", "madf-t", "--size", "32", "--batch", "2", "--workers", "0"]
    run = tmp_path / "pp"
    assert main(["train", "madf", *base, "--prefill", "pushpull", "--steps", "2", "--out", str(run)]) == 0
    assert load_model(run / "last.safetensors").prefill == "pushpull"
    assert main(["train", "madf", "--resume", str(run), "--steps", "3"]) == 0
    assert load_model(run / "last.safetensors").prefill == "pushpull"
    # the zero-prefill network is another model: --init across the two is refused
    assert main(["train", "madf", *base, "--steps", "1", "--init", str(run / "last.safetensors"), "--out", str(tmp_path / "z")]) == 2
    assert main(["train", "madf", *base, "--prefill", "telea", "--steps", "1", "--out", str(tmp_path / "t")]) == 2
