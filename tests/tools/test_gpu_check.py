"""tools/gpu_check.py, the one script a person with an NVIDIA GPU runs: its steps use only options the CLI has,
the runner's table and exit status, a failed step's dependants skipped, the hole comparison, and the steps that
need no GPU (the tiny training runs on the CPU, the ONNX Runtime run) actually run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
import gpu_check  # noqa: E402


def _options(argv: list[str]) -> tuple[list[str], set[str]]:
    """The inpaint command path of an argv and the option names the click command has."""
    import typer

    from inpaint.cli.main import app

    command = typer.main.get_command(app)
    words = argv[argv.index("inpaint.cli.main") + 1 :]
    path = []
    while words and hasattr(command, "commands") and words[0] in command.commands:
        command = command.commands[words[0]]
        path.append(words.pop(0))
    return path, {opt for p in command.params for opt in p.opts}


def test_every_step_uses_options_the_cli_has(tmp_path):
    plan = gpu_check.build_plan(tmp_path)
    names = [s.name for s in plan.steps]
    assert names[0] == "install" and len(names) == len(set(names))
    commands = [s for s in plan.steps if "inpaint.cli.main" in s.argv]
    assert {tuple(_options(s.argv)[0]) for s in commands} >= {("train", "madf"), ("train", "mae"), ("train", "far"),
                                                               ("export",), ("run",), ("bench",), ("doctor",)}
    for step in commands:
        _, known = _options(step.argv)
        used = {a for a in step.argv[step.argv.index("inpaint.cli.main") + 1 :] if a.startswith("-")}
        assert used <= known, f"{step.name}: {sorted(used - known)} are not options of the CLI"
    exports = [s for s in plan.steps if s.name.startswith("export")]
    assert len(exports) == 6 and all(s.argv[s.argv.index("--engine") + 1] == "trt" for s in exports)
    assert {(s.argv[s.argv.index("--ops") + 1], s.argv[s.argv.index("--precision") + 1]) for s in exports} == {
        ("plugin", "fp32"), ("standard", "fp32"), ("plugin", "fp16")}
    assert all(0 < s.timeout <= 600 for s in plan.steps)  # no step can hang the check
    assert "install" not in [s.name for s in gpu_check.build_plan(tmp_path, install=False).steps]


def _step(name, code, timeout=30.0, needs=(), check=None):
    return gpu_check.Step(name, [sys.executable, "-c", code], timeout, needs=needs, check=check)


def test_runner_table_and_exit_status(tmp_path):
    plan = gpu_check.Plan(tmp_path, [
        _step("ok", "print('12.5 pictures/s')"),
        _step("broken", "import sys; print('boom'); sys.exit(3)"),
        _step("after broken", "print('never')", needs=("broken",)),
        _step("slow", "import time; time.sleep(30)", timeout=1.0),
        _step("checked", "print('x')", check=lambda: (_ for _ in ()).throw(AssertionError("hole differs"))),
        _step("after ok", "print('fine')", needs=("ok",)),
    ])
    seen = []
    results = {r.name: r for r in gpu_check.execute(plan, echo=seen.append)}
    assert [results[n].status for n in ("ok", "broken", "after broken", "slow", "checked", "after ok")] == [
        "pass", "FAIL", "skip", "FAIL", "FAIL", "pass"]
    assert results["ok"].figure == "12.5 pictures/s" and "exit 3: boom" in results["broken"].figure
    assert results["after broken"].figure == "needs broken (FAIL)" and "timed out after 1 s" in results["slow"].figure
    assert results["checked"].figure == "hole differs" and results["slow"].seconds < 10
    assert len(seen) == 5  # the skipped step never started
    text = gpu_check.table(list(results.values()))
    assert text.splitlines()[-1].startswith("6 steps, 3 failed") and "needs broken (FAIL)" in text
    assert (tmp_path / "logs").is_dir() and "boom" in results["broken"].log.read_text()


def test_compare_hole(tmp_path):
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (32, 48, 3), np.uint8)
    hole = np.zeros((32, 48), np.uint8)
    hole[8:20, 10:30] = 255
    a, b = photo.copy(), photo.copy()
    a[hole > 0], b[hole > 0] = 100, 101
    for name, img in (("photo.png", photo), ("mask.png", hole), ("a.png", a), ("b.png", b)):
        cv2.imwrite(str(tmp_path / name), img)
    p = [tmp_path / n for n in ("a.png", "b.png", "photo.png", "mask.png")]
    assert gpu_check.compare_hole(*p) == "hole |trt-onnx| mean 1.000 max 1"
    b[hole > 0] = 110
    cv2.imwrite(str(tmp_path / "b.png"), b)
    with pytest.raises(AssertionError, match="mean"):
        gpu_check.compare_hole(*p)
    a[0, 0] ^= 1  # a known pixel changed
    cv2.imwrite(str(tmp_path / "a.png"), a)
    with pytest.raises(AssertionError, match="known pixels"):
        gpu_check.compare_hole(*p)


def test_dry_run_prints_every_command_and_runs_nothing(tmp_path, capsys):
    assert gpu_check.main(["--dry-run", "--work", str(tmp_path / "w")]) == 0
    out = capsys.readouterr().out
    assert out.count("\n# ") + out.startswith("# ") == len(gpu_check.build_plan(tmp_path).steps)
    assert "--engine trt,onnx,torch" in out and "pytest -m gpu" in out and not (tmp_path / "w").exists()


def test_shell_script_parses_and_calls_the_runner():
    script = REPO / "tools" / "gpu_check.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    assert "tools/gpu_check.py" in script.read_text()


@pytest.mark.slow
def test_the_steps_without_a_gpu_run_here(tmp_path):
    """The training commands with --device cpu and 2 steps, and the ONNX Runtime run, as the plan has them."""
    gpu_check.make_data(tmp_path / "data")
    plan = gpu_check.build_plan(tmp_path, install=False)
    for step in plan.steps:
        if step.name.startswith("train") or step.name == "run onnx castle":
            argv = list(step.argv)
            for flag, value in (("--device", "cpu"), ("--steps", "2"), ("--ckpt-every", "2"), ("--val-every", "2")):
                if flag in argv:
                    argv[argv.index(flag) + 1] = value
            result = gpu_check.run_step(gpu_check.Step(step.name, argv, 120), tmp_path / "logs" / f"{step.name}.log")
            assert result.status == "pass", (step.name, result.figure, result.log.read_text()[-2000:])
    assert (tmp_path / "runs" / "far" / "last.safetensors").is_file()
    out = cv2.imread(str(tmp_path / "out" / "castle-onnx.png"))
    assert out is not None and out.shape == cv2.imread(str(REPO / "examples" / "castle.jpg")).shape
