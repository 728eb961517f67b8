"""``inpaint doctor``: what this machine can run, and why not when it cannot (with the fix for each missing piece).

Three tables: the Python packages, the GPU stack (driver, GPU, CUDA runtime, TensorRT, Polygraphy, Triton,
cuda-python / pycuda, the TensorRT plugins), and which engine ``--engine auto`` takes for each model file
type and why. The rows are built by plain functions (:func:`package_rows`, :func:`gpu_rows`,
:func:`auto_rows`) that the tests read.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import platform

import typer

#: (file types, an example name) that ``auto`` resolves, one row each
FILE_TYPES = ((".onnx", "model.onnx"), (".engine / .plan", "model.engine"), (".safetensors", "model.safetensors"))
TRT_INSTALL = "pip install 'inpaint-toolkit[trt]' (TensorRT, Polygraphy, cuda-python, Triton)"


def _version(module: str) -> str | None:
    try:
        mod = importlib.import_module(module)
    except Exception:  # noqa: BLE001  any import failure means "not usable here"
        return None
    return str(getattr(mod, "__version__", "installed"))


def _found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def package_rows() -> list[tuple[str, str | None, str]]:
    """(package, version or None when missing, what it is needed for / how to install it)."""
    return [
        ("numpy", _version("numpy"), "everything"),
        ("opencv", _version("cv2"), "image I/O"),
        ("onnxruntime", _version("onnxruntime"), "--engine onnx"),
        ("onnxruntime-extensions", _version("onnxruntime_extensions"), "plugin graphs on ONNX Runtime (pip install 'inpaint-toolkit[plugins]')"),
        ("torch", _version("torch"), "--engine torch, train, export (pip install torch==2.13.0 'inpaint-toolkit[train]')"),
        ("onnx", _version("onnx"), "export, TensorRT builds (pip install 'inpaint-toolkit[export]')"),
        ("onnxscript", _version("onnxscript"), "export"),
        ("safetensors", _version("safetensors"), "checkpoints"),
        ("tensorboard", _version("tensorboard"), "training logs"),
    ]


def _cuda_runtime() -> str | None:
    """The CUDA runtime version a memory provider here would use ("12.8 (torch)"), or None."""
    if _found("cuda.bindings"):
        try:
            from cuda.bindings import runtime as cudart

            err, version = cudart.cudaRuntimeGetVersion()
            if int(err) == 0:
                return f"{version // 1000}.{version % 1000 // 10} (cuda-python)"
        except Exception:  # noqa: BLE001
            pass
    if _found("torch"):
        import torch

        if torch.version.cuda:
            return f"{torch.version.cuda} (torch)"
    return None


def _torch_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def gpu_rows() -> list[tuple[str, bool, str, str]]:
    """(component, ok, state, fix or use) for the GPU stack; importing tensorrt only when a GPU answers."""
    from inpaint._cuda import driver_info
    from inpaint.runtime.backends.cuda_memory import available_providers
    from inpaint.runtime.backends.trt import MIN_TRT, unavailable_reason

    info = driver_info()
    rows: list[tuple[str, bool, str, str]] = []
    if info.available:
        gpus = "; ".join(f"{g.index}: {g.name}, compute capability {g.compute_capability}, {g.memory_mb} MiB" for g in info.gpus)
        rows.append(("GPU", True, gpus, "engines are built for GPU 0's compute capability"))
    else:
        rows.append(("GPU", False, "none", info.reason))
    rows.append(("NVIDIA driver", bool(info.driver), f"CUDA {info.driver}" if info.driver else "missing",
                 "TensorRT 10.x / 11.x need a CUDA 12 or 13 driver" if info.driver else "install the NVIDIA driver"))
    runtime = _cuda_runtime()
    rows.append(("CUDA runtime", runtime is not None, runtime or "missing", "pip install cuda-python (or a CUDA build of torch)"))
    trt_found = _found("tensorrt")
    trt_version = _version("tensorrt") if trt_found and info.available else None
    if not trt_found:
        rows.append(("TensorRT", False, "missing", f"--engine trt: {TRT_INSTALL}"))
    elif trt_version is None:
        rows.append(("TensorRT", False, "installed, not importable here", unavailable_reason() or "check the install"))
    else:
        reason = unavailable_reason()
        rows.append(("TensorRT", reason is None, trt_version, reason or f"--engine trt (>= {MIN_TRT[0]}.{MIN_TRT[1]})"))
    polygraphy = _version("polygraphy")
    rows.append(("Polygraphy", polygraphy is not None, polygraphy or "missing", "TensorRT engine builds (pip install polygraphy)"))
    triton = _version("triton") if _found("triton") else None
    rows.append(("Triton", triton is not None, triton or "missing", "the TensorRT plugins' kernels (pip install 'inpaint-toolkit[trt]')"))
    providers = available_providers()
    usable = [p for p in providers if p != "torch" or _torch_cuda()]
    state = ", ".join(p if p in usable else f"{p} (no CUDA: CPU build)" for p in providers) or "missing"
    rows.append(("cuda-python / pycuda / torch", bool(usable), state,
                 "device buffers for --engine trt (first of torch CUDA, cuda-python, pycuda); pip install cuda-python"))
    rows.append(_plugin_row(trt_version is not None and unavailable_reason() is None))
    if info.available:
        rows.append(ptx_row(info.gpus[0].compute_capability, info.driver))
    from inpaint.export.trt_cache import engine_dir

    rows.append(("engine cache", True, str(engine_dir()), "$INPAINT_CACHE moves it; delete it to rebuild every engine"))
    return rows


def ptx_row(compute_capability: str, driver: str) -> tuple[str, bool, str, str]:
    """The PTX ISA the plugin kernels get on this GPU and whether this driver loads it (engine headers record the same)."""
    from inpaint.errors import UserError
    from inpaint.ops import triton_aot as A

    arch = A.arch_int(compute_capability)
    try:
        isa = A.ptx_version(arch)
    except UserError as exc:
        return ("plugin kernels (PTX)", False, f"sm_{arch}: not served", str(exc).split(": ", 1)[-1])
    need = A.min_driver(isa)
    try:
        A.ptx_version(arch, driver)
    except UserError:
        return ("plugin kernels (PTX)", False, f"ISA {A.isa_text(isa)} for sm_{arch}, needs a CUDA {need} driver (this one: {driver})",
                "update the NVIDIA driver, or use standard-op graphs (--ops standard)")
    return ("plugin kernels (PTX)", True, f"ISA {A.isa_text(isa)} for sm_{arch} (drivers for CUDA {need}+; this one: {driver})",
            "engines refuse a driver older than their kernels' ISA")


def _plugin_row(trt_ready: bool) -> tuple[str, bool, str, str]:
    from inpaint.ops import trt_plugins

    if not trt_ready:
        return ("TensorRT plugins", False, "not registered (no TensorRT here)", "plugin graphs (--ops plugin) need TensorRT; --ops standard needs none")
    try:
        names = trt_plugins.register_all()
    except Exception as exc:  # noqa: BLE001  a broken plugin module: say so, the rest still works
        return ("TensorRT plugins", False, f"import failed: {type(exc).__name__}: {exc}", "export with --ops standard, or reinstall inpaint-toolkit[trt]")
    expected = len(trt_plugins.PLUGIN_MODULES)
    state = ", ".join(names) if names else "none"
    fix = f"version {trt_plugins.plugin_version()}" if len(names) == expected else "tensorrt.plugin needs TensorRT >= 10.9; --ops standard needs none"
    return ("TensorRT plugins", len(names) == expected, state, fix)


def auto_rows() -> list[tuple[str, str, str]]:
    """(file type, the engine ``--engine auto`` takes or "none", why) for each model file type."""
    from pathlib import Path

    from inpaint.errors import UserError
    from inpaint.runtime.backends import ENGINES, resolve_engine, unavailable

    rows = []
    for label, example in FILE_TYPES:
        path = Path(example)
        skipped = [f"not {e.name}: {unavailable(e)}" for e in sorted(ENGINES, key=lambda e: e.rank)
                   if e.accepts(path) and e.auto and unavailable(e) is not None]
        try:
            chosen = resolve_engine("auto", path).name
        except UserError as exc:
            rows.append((label, "none", str(exc).split(": ", 1)[-1]))
            continue
        why = "; ".join(skipped) if skipped else "the fastest engine that runs it, and it is ready here"
        rows.append((label, chosen, why))
    return rows


def doctor() -> None:
    """Print versions, the GPU stack, and which engine --engine auto takes for each model file type."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from inpaint import __version__

    console = Console()
    if not console.is_terminal and not os.environ.get("COLUMNS"):  # a pipe or a file: the fixes stay on one line
        console = Console(width=max(console.width, 200))
    table = Table(title=f"inpaint {__version__} on Python {platform.python_version()} ({platform.machine()})")
    for column in ("component", "state", "needed for"):
        table.add_column(column)
    for name, version, need in package_rows():
        table.add_row(name, f"[green]{escape(version)}[/green]" if version else "[red]missing[/red]", escape(need))
    if _version("onnxruntime"):
        import onnxruntime as ort

        table.add_row("ORT providers", ", ".join(ort.get_available_providers()), "CUDA needs onnxruntime-gpu")
    if _version("torch"):
        import torch

        cuda = f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "none"
        table.add_row("CUDA devices (torch)", cuda, "GPU training, AMP, torchrun")
    console.print(table)

    gpu = Table(title="GPU and TensorRT")
    for column in ("component", "state", "fix / used for"):
        gpu.add_column(column)
    for name, ok, state, fix in gpu_rows():
        gpu.add_row(name, f"[green]{escape(state)}[/green]" if ok else f"[red]{escape(state)}[/red]", escape(fix))
    console.print(gpu)

    auto = Table(title="--engine auto")
    for column in ("model file", "engine", "why"):
        auto.add_column(column)
    for label, engine, why in auto_rows():
        auto.add_row(label, engine, escape(why))
    console.print(auto)
