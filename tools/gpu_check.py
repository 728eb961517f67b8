"""One check of a machine with an NVIDIA GPU: install, GPU tests, CUDA AMP training, TensorRT engines, runs, bench.

    bash tools/gpu_check.sh                 # a fresh venv in .gpu-check/venv, then this script
    python tools/gpu_check.py [--work DIR] [--skip-install] [--dry-run] [--only NAME,...]

Run from the repository root. Each step is a subprocess with its own time limit and log
(``WORK/logs/NN-name.log``). A failed step never stops the others; steps that need its output are
skipped and say why. The end is one table (step, status, seconds, figure) and the exit status: 0 when no step
failed, 1 otherwise. Nothing is downloaded but the packages: the training photos are the repository's
examples, and the models are the bundled one and the tiny presets trained here.

The steps (about 6-9 minutes on one recent GPU, most of it the TensorRT builds):

- install: ``pip install '.[trt,test]'`` (TensorRT, polygraphy, cuda-python, Triton; the test tools);
- doctor: what ``--engine auto`` takes;
- gpu tests: ``pytest -m gpu`` (the Triton kernels on CUDA, TensorRT engines with the plugins);
- train madf-t / mae-t / far-t: a few steps each on CUDA with AMP (far-t from the mae-t weights);
- export: TensorRT engines of the bundled model and of far-t, plugin and standard ops, fp32 and fp16;
- run: ``inpaint run --engine trt`` on the examples against ``--engine onnx`` (hole difference, known pixels);
- bench: ``inpaint bench --engine trt,onnx,torch``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: the examples run through both engines (photo, mask), from examples/README.md
EXAMPLES = (("castle.jpg", "castle_mask.png"), ("bench.jpg", "bench_mask.png"))
#: largest mean |trt - onnx| inside the hole (grey levels, 0-255) of a fp32 engine: both run the same
#: network in fp32 (TensorRT may pick TF32 tactics: ~1e-3 relative) and the same NumPy texture stage
HOLE_MEAN_LIMIT = 1.0
#: training steps per tiny preset: enough to pass through AMP's scaler, a checkpoint and a validation
TRAIN_STEPS = 30
#: training crop: far-t's smallest (a multiple of its 128 px stride; madf-t and mae-t accept it too)
TRAIN_SIZE = 128


@dataclass
class Step:
    """One command. needs: names of steps whose success it depends on. check: called after a zero exit,
    returns the figure for the table or raises AssertionError (the step then fails with its message)."""

    name: str
    argv: list[str]
    timeout: float
    needs: tuple[str, ...] = ()
    check: object = None
    figure: str = ""


@dataclass
class Result:
    name: str
    status: str          # "pass", "FAIL" or "skip"
    seconds: float
    figure: str = ""
    log: Path | None = None


@dataclass
class Plan:
    work: Path
    steps: list[Step] = field(default_factory=list)

    def add(self, *args, **kwargs) -> None:
        self.steps.append(Step(*args, **kwargs))


def inpaint(*args: str) -> list[str]:
    """The CLI of the environment this script runs in (the venv that the install step filled)."""
    return [sys.executable, "-m", "inpaint.cli.main", *args]


def make_data(folder: Path) -> Path:
    """Training photos for the tiny runs: the examples and their mirror images (no download)."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for photo, _ in EXAMPLES:
        bgr = cv2.imread(str(REPO / "examples" / photo))
        if bgr is None:
            raise SystemExit(f"error: {REPO / 'examples' / photo} is missing; run from a full checkout")
        cv2.imwrite(str(folder / photo.replace(".jpg", ".png")), bgr)
        cv2.imwrite(str(folder / photo.replace(".jpg", "_flip.png")), bgr[:, ::-1])
    return folder


def compare_hole(trt_out: Path, onnx_out: Path, photo: Path, mask: Path) -> str:
    """The figure of a run step: mean / max |trt - onnx| in the hole; raises AssertionError when the mean is
    over HOLE_MEAN_LIMIT or a known pixel of either output differs from the photo."""
    import cv2
    import numpy as np

    a, b, src = (cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in (trt_out, onnx_out, photo))
    hole = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) > 0
    assert a is not None and b is not None, f"{trt_out} or {onnx_out} does not decode"
    assert a.shape == b.shape == src.shape, f"sizes differ: {a.shape} {b.shape} {src.shape}"
    for out, name in ((a, "trt"), (b, "onnx")):
        assert np.array_equal(out[~hole], src[~hole]), f"{name}: known pixels differ from {photo.name}"
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))[hole]
    mean, peak = float(diff.mean()), int(diff.max())
    assert mean <= HOLE_MEAN_LIMIT, f"mean |trt - onnx| in the hole {mean:.2f} > {HOLE_MEAN_LIMIT}"
    return f"hole |trt-onnx| mean {mean:.3f} max {peak}"


def build_plan(work: Path, install: bool = True) -> Plan:
    """Every step, in order, for a run in ``work``."""
    plan = Plan(work)
    runs, engines, outs = work / "runs", work / "engines", work / "out"
    bundled, bundled_onnx = REPO / "inpaint/assets/default.safetensors", REPO / "inpaint/assets/default.onnx"
    if install:
        plan.add("install", [sys.executable, "-m", "pip", "install", "--quiet", f"{REPO}[trt,test]"], 600)
    plan.add("doctor", inpaint("doctor"), 120)
    plan.add("gpu tests", [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-rs", str(REPO / "tests")], 300)
    common = ["--data", str(work / "data"), "--size", str(TRAIN_SIZE), "--batch", "2", "--steps", str(TRAIN_STEPS),
              "--device", "cuda", "--amp", "auto", "--workers", "0", "--ckpt-every", str(TRAIN_STEPS),
              "--val-every", str(TRAIN_STEPS), "--val", str(work / "data")]
    plan.add("train madf-t", inpaint("train", "madf", "--preset", "madf-t", "--out", str(runs / "madf"),
                                     "--perceptual", "off", *common), 180)
    plan.add("train mae-t", inpaint("train", "mae", "--preset", "mae-t", "--out", str(runs / "mae"), *common), 180)
    plan.add("train far-t", inpaint("train", "far", "--preset", "far-t", "--out", str(runs / "far"),
                                    "--mae", str(runs / "mae" / "last.safetensors"), *common),
             180, needs=("train mae-t",))
    far = runs / "far" / "last.safetensors"
    for model, label, needs in ((bundled, "default", ()), (far, "far-t", ("train far-t",))):
        for ops, precision in (("plugin", "fp32"), ("standard", "fp32"), ("plugin", "fp16")):
            out = engines / f"{label}-{ops}-{precision}.engine"
            plan.add(f"export {label} {ops} {precision}",
                     inpaint("export", str(model), "--engine", "trt", "--ops", ops, "--precision", precision,
                             "-o", str(out), "--timing-cache", str(engines / "timing.cache")),
                     300, needs=needs)
    for photo, mask in EXAMPLES:
        stem = Path(photo).stem
        src, hole = REPO / "examples" / photo, REPO / "examples" / mask
        onnx_out, trt_out = outs / f"{stem}-onnx.png", outs / f"{stem}-trt.png"
        plan.add(f"run onnx {stem}", inpaint("run", str(src), str(hole), "-o", str(onnx_out), "--engine", "onnx",
                                             "-m", str(bundled_onnx), "--device", "cpu"), 120)
        plan.add(f"run trt {stem}", inpaint("run", str(src), str(hole), "-o", str(trt_out), "--engine", "trt",
                                            "-m", str(engines / "default-plugin-fp32.engine")),
                 120, needs=("export default plugin fp32", f"run onnx {stem}"),
                 check=lambda t=trt_out, o=onnx_out, s=src, h=hole: compare_hole(t, o, s, h))
    plan.add("bench trt,onnx,torch", inpaint("bench", str(engines / "default-plugin-fp32.engine"), str(bundled_onnx),
                                             str(bundled), "--engine", "trt,onnx,torch", "--size", "512"),
             240, needs=("export default plugin fp32",))
    return plan


def run_step(step: Step, log: Path, env: dict | None = None) -> Result:
    """Run one step with its time limit; its stdout and stderr go to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with log.open("w") as out:
        out.write("$ " + shlex.join(step.argv) + "\n")
        out.flush()
        try:
            code = subprocess.run(step.argv, stdout=out, stderr=subprocess.STDOUT, timeout=step.timeout,
                                  env=env, cwd=REPO).returncode
        except subprocess.TimeoutExpired:
            return Result(step.name, "FAIL", time.perf_counter() - start, f"timed out after {step.timeout:.0f} s", log)
        except OSError as exc:
            return Result(step.name, "FAIL", time.perf_counter() - start, f"could not start: {exc}", log)
    seconds = time.perf_counter() - start
    if code != 0:
        return Result(step.name, "FAIL", seconds, f"exit {code}: {_last_line(log)}", log)
    figure = _last_line(log)
    if callable(step.check):
        try:
            figure = step.check() or figure
        except AssertionError as exc:
            return Result(step.name, "FAIL", seconds, str(exc), log)
    return Result(step.name, "pass", seconds, figure, log)


def _last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:100] if len(lines) > 1 else ""


def execute(plan: Plan, only: set[str] | None = None, echo=lambda line: print(line, flush=True)) -> list[Result]:
    """Every step in order; a step whose ``needs`` did not pass is skipped with the reason."""
    results: dict[str, Result] = {}
    for i, step in enumerate(plan.steps):
        if only is not None and step.name not in only:
            continue
        failed = [n for n in step.needs if n in results and results[n].status != "pass"]
        if failed:
            results[step.name] = Result(step.name, "skip", 0.0, f"needs {failed[0]} ({results[failed[0]].status})")
        else:
            echo(f"[{i + 1}/{len(plan.steps)}] {step.name} ...")
            results[step.name] = run_step(step, plan.work / "logs" / f"{i:02d}-{step.name.replace(' ', '-')}.log")
    return list(results.values())


def table(results: list[Result]) -> str:
    """The summary: one row a step, then the total time and the count of failures."""
    width = max([len(r.name) for r in results] + [4])
    rows = [f"{'step':<{width}}  status  seconds  figure", f"{'-' * width}  ------  -------  ------"]
    rows += [f"{r.name:<{width}}  {r.status:<6}  {r.seconds:7.1f}  {r.figure}" for r in results]
    failed = sum(r.status == "FAIL" for r in results)
    rows.append(f"{len(results)} steps, {failed} failed, {sum(r.seconds for r in results):.0f} s")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=REPO / ".gpu-check", help="logs, runs, engines and outputs")
    parser.add_argument("--skip-install", action="store_true", help="use the packages already installed")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and run nothing")
    parser.add_argument("--only", default="", help="comma-separated step names to run (the rest are left out)")
    args = parser.parse_args(argv)
    plan = build_plan(args.work, install=not args.skip_install)
    if args.dry_run:
        for step in plan.steps:
            print(f"# {step.name} (limit {step.timeout:.0f} s)\n{shlex.join(step.argv)}")
        return 0
    for name in ("runs", "engines", "out", "logs"):  # a fresh check: train refuses an existing run folder
        shutil.rmtree(args.work / name, ignore_errors=True)
    make_data(args.work / "data")
    only = {s.strip() for s in args.only.split(",") if s.strip()} or None
    results = execute(plan, only)
    print("\n" + table(results))
    print(f"logs: {args.work / 'logs'}")
    return 1 if any(r.status == "FAIL" for r in results) else 0


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main())
