"""inpaint bench: two engines in their own processes, a table and their ratio (speed is not asserted)."""

from __future__ import annotations

import pytest

from inpaint.cli.bench import pair_models
from inpaint.cli.main import main
from inpaint.errors import UserError
from inpaint.runtime.backends import resolve_engine


def test_pairing_finds_the_checkpoint_beside_the_onnx(model_files):
    onnx, ckpt = model_files["onnx"], model_files["checkpoint"]
    assert pair_models([onnx], ["onnx", "torch"]) == [("onnx", onnx), ("torch", ckpt)]
    auto_onnx = resolve_engine("auto", onnx).name  # "trt" on a machine with TensorRT and a GPU, else "onnx"
    assert pair_models([ckpt, onnx], ["auto"]) == [("torch", ckpt), (auto_onnx, onnx)]
    with pytest.raises(UserError, match="--engine torch runs"):
        pair_models([onnx.with_name("elsewhere.onnx")], ["torch"])


def test_two_engines_print_both_and_a_ratio(model_files, capsys):
    code = main(["bench", str(model_files["onnx"]), "--engine", "onnx,torch", "--size", "32",
                 "--warmup", "0", "--iterations", "1", "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0
    assert "madf-t.onnx" in out and "madf-t.safetensors" in out
    assert "32x32" in out and "speed onnx / torch:" in out and "x (" in out


def test_unknown_engine_in_bench(model_files, capsys):
    assert main(["bench", str(model_files["onnx"]), "--engine", "onnx,tensort"]) == 2
    assert "did you mean" in capsys.readouterr().err
