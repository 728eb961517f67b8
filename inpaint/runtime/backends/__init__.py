"""The engine table: which backend runs which model file, and how ``--engine auto`` chooses.

Adding a backend = a module with ``load(path, device) -> Runner`` (a loader and a runner, see
:mod:`inpaint.runtime.backends.base`), ONE row in :data:`ENGINES`, and a test folder.

    engine  model files              needs                        auto rank
    trt     .engine .plan .onnx      tensorrt >= 10.9, a CUDA GPU 0
    onnx    .onnx                    onnxruntime                  1
    torch   .safetensors             torch                        2

``auto`` takes the engine with the lowest rank that accepts the model file's suffix, whose package is
installed (looked up with ``importlib.util.find_spec``, nothing imported) and whose ``probe`` (if any)
finds nothing missing. TensorRT's probe asks the NVIDIA driver through ctypes for a GPU and only then
imports ``tensorrt`` (:func:`inpaint.runtime.backends.trt.unavailable_reason`). A ``.onnx`` therefore runs
on TensorRT where it can (the engine is built once and cached), else on ONNX Runtime, saying why under
``-v``; a ``.safetensors`` checkpoint runs only on PyTorch. The ranks order the engines by speed:
TensorRT is the fastest on NVIDIA GPUs; ONNX Runtime beats PyTorch eager on the paper's network
(``benchmarks/onnx_vs_torch.py``).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

from inpaint.errors import MissingDependencyError, UserError
from inpaint.runtime.backends.base import ModelInfo, Runner

__all__ = ["Engine", "ENGINES", "ENGINE_NAMES", "DEVICES", "ModelInfo", "Runner", "resolve_engine", "load_runner", "installed",
           "unavailable"]

log = logging.getLogger("inpaint.runtime")

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Engine:
    """One row of the engine table.

    name: the ``--engine`` value. suffixes: model file suffixes it runs (lower case, with the dot).
    package: the Python module it needs. module: the module whose ``load(path, device)`` returns a Runner.
    rank: lower = faster, for ``auto``. auto: ``auto`` may choose it (False for a reserved name).
    extra: pip extra (or instruction) that installs ``package``.
    probe: "module:function" returning None when the engine can run here, else why not (with the fix);
    called only when ``package`` is installed. options: the keyword options its ``load`` takes beyond
    (path, device), e.g. ``cuda_graph``.
    """

    name: str
    suffixes: tuple[str, ...]
    package: str
    module: str
    rank: int
    auto: bool = True
    extra: str = ""
    probe: str = ""
    options: tuple[str, ...] = ()

    def accepts(self, path: Path) -> bool:
        return path.suffix.lower() in self.suffixes

    def load(self, path: str | Path, device: str = "auto", **options) -> Runner:
        """An inactive runner for ``path`` (imports the backend module, which imports its package lazily).

        options: only the names in ``self.options``; a set option another engine lacks is a UserError.
        """
        unknown = sorted(k for k, v in options.items() if v and k not in self.options)
        if unknown:
            flags = ", ".join("--" + k.replace("_", "-") for k in unknown)
            raise UserError(f"{flags}: only for engines that take it ({', '.join(e.name for e in ENGINES if set(unknown) <= set(e.options))}), not --engine {self.name}")
        kept = {k: v for k, v in options.items() if k in self.options}
        return importlib.import_module(self.module).load(Path(path), device, **kept)


ENGINES: tuple[Engine, ...] = (
    Engine("trt", (".engine", ".plan", ".onnx"), "tensorrt", "inpaint.runtime.backends.trt", rank=0,
           extra="pip install 'inpaint-toolkit[trt]' on a machine with an NVIDIA GPU", probe="inpaint.runtime.backends.trt:unavailable_reason",
           options=("cuda_graph",)),
    Engine("onnx", (".onnx",), "onnxruntime", "inpaint.runtime.backends.onnx", rank=1, extra="pip install onnxruntime (or onnxruntime-gpu)"),
    Engine("torch", (".safetensors",), "torch", "inpaint.runtime.backends.torch", rank=2, extra="pip install 'inpaint-toolkit[train]'"),
)
ENGINE_NAMES: tuple[str, ...] = tuple(e.name for e in ENGINES)
_BY_NAME = {e.name: e for e in ENGINES}


def installed(engine: Engine) -> bool:
    """True when the engine's package can be imported (found on the path; not imported here)."""
    try:
        return importlib.util.find_spec(engine.package) is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules, or a broken parent
        return False


def unavailable(engine: Engine) -> str | None:
    """None when ``engine`` can run here; else why not (package missing, or its probe's reason)."""
    if not installed(engine):
        return f"the Python package '{engine.package}' is not installed; {engine.extra}"
    if engine.probe:
        module, function = engine.probe.split(":")
        return getattr(importlib.import_module(module), function)()
    return None


def _known_suffixes() -> str:
    return ", ".join(sorted({s for e in ENGINES for s in e.suffixes}))


def get_engine(name: str) -> Engine:
    """The row named ``name``; UserError with a "did you mean" for an unknown name."""
    if name in _BY_NAME:
        return _BY_NAME[name]
    close = difflib.get_close_matches(name, ["auto", *ENGINE_NAMES], n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise UserError(f"--engine {name}: unknown engine; {hint}choose one of auto, {', '.join(ENGINE_NAMES)}")


def resolve_engine(name: str, model_path: str | Path) -> Engine:
    """Pick the engine that runs ``model_path``.

    name: "auto" or an engine name. "auto" = the fastest (lowest rank) engine that is installed and
    accepts the file's suffix. A named engine must accept the suffix; its package is checked when it loads.
    Raises UserError (unknown name with a "did you mean", a file the engine cannot run, no engine
    installed for the file); MissingDependencyError when ``auto`` finds the file's engines not installed.
    """
    path = Path(model_path)
    suffix = path.suffix.lower()
    if name != "auto":
        engine = get_engine(name)
        if not engine.auto:  # a reserved name: its loader explains
            return engine
        if not engine.accepts(path):
            others = [e.name for e in ENGINES if e.accepts(path) and e.auto]
            others = [name for name in others if unavailable(_BY_NAME[name]) is None] or others  # those that run here first
            fix = f"use --engine {' or '.join(others)}" if others else f"give a {' or '.join(engine.suffixes)} file"
            raise UserError(f"{path}: --engine {name} runs {' / '.join(engine.suffixes)} files, not '{suffix or path.name}'; {fix}")
        return engine
    candidates = sorted((e for e in ENGINES if e.accepts(path)), key=lambda e: e.rank)
    if not candidates:
        raise UserError(f"{path}: unknown model file type '{suffix}'; give one of: {_known_suffixes()}")
    reasons = []
    for engine in candidates:
        if not engine.auto:
            continue
        reason = unavailable(engine)
        if reason is None:
            return engine
        reasons.append(f"{engine.name}: {reason}")
        log.debug("--engine auto: not %s for %s: %s", engine.name, path.name, reason)
    ready = [e for e in candidates if e.auto]
    if not ready:  # only a reserved engine reads this file
        return candidates[0]
    raise MissingDependencyError(f"{path}: no engine here runs {suffix} files ({'; '.join(reasons)})")


def load_runner(model_path: str | Path, engine: str = "auto", device: str = "auto", **options) -> Runner:
    """Resolve the engine for ``model_path`` and return its (inactive) runner.

    device: "auto" | "cpu" | "cuda". options: engine options such as ``cuda_graph=True`` (trt); with
    ``auto`` they are dropped when the chosen engine lacks them. Raises UserError for a missing file and
    the errors of :func:`resolve_engine`.
    """
    if device not in DEVICES:
        raise UserError(f"--device {device}: choose one of {', '.join(DEVICES)}")
    if engine != "auto" and not get_engine(engine).auto:  # a reserved name: its loader explains
        return get_engine(engine).load(model_path, device, **options)
    if not Path(model_path).is_file():
        raise UserError(
            f"{model_path}: no such model file; pass an .onnx from 'inpaint export' or a .safetensors checkpoint"
        )
    chosen = resolve_engine(engine, model_path)
    if chosen.auto and not installed(chosen):
        raise MissingDependencyError(
            f"--engine {chosen.name} needs the Python package '{chosen.package}', which is not installed; {chosen.extra}"
        )
    if engine == "auto":
        options = {k: v for k, v in options.items() if k in chosen.options}
    return chosen.load(model_path, device, **options)
