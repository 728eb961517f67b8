"""``inpaint doctor``: what this machine can run, and why not when it cannot."""

from __future__ import annotations

import importlib
import platform

import typer


def _version(module: str) -> str | None:
    try:
        mod = importlib.import_module(module)
    except Exception:  # noqa: BLE001  any import failure means "not usable here"
        return None
    return str(getattr(mod, "__version__", "installed"))


def doctor() -> None:
    """Print versions, devices and engines available here."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from inpaint import __version__

    table = Table(title=f"inpaint {__version__} on Python {platform.python_version()} ({platform.machine()})")
    table.add_column("component")
    table.add_column("state")
    table.add_column("needed for")
    rows = [
        ("numpy", _version("numpy"), "everything"),
        ("opencv", _version("cv2"), "image I/O"),
        ("onnxruntime", _version("onnxruntime"), "--engine onnx"),
        ("onnxruntime-extensions", _version("onnxruntime_extensions"), "plugin graphs on ONNX Runtime (pip install 'inpaint[plugins]')"),
        ("torch", _version("torch"), "--engine torch, train, export (pip install torch==2.13.0 'inpaint[train]')"),
        ("onnx", _version("onnx"), "export (pip install 'inpaint[export]')"),
        ("onnxscript", _version("onnxscript"), "export"),
        ("safetensors", _version("safetensors"), "checkpoints"),
        ("tensorboard", _version("tensorboard"), "training logs"),
        ("tensorrt", _version("tensorrt"), "--engine trt (NVIDIA's index; not on PyPI)"),
    ]
    for name, version, need in rows:
        table.add_row(name, f"[green]{version}[/green]" if version else "[red]missing[/red]", escape(need))
    if _version("onnxruntime"):
        import onnxruntime as ort

        table.add_row("ORT providers", ", ".join(ort.get_available_providers()), "CUDA needs onnxruntime-gpu")
    if _version("torch"):
        import torch

        cuda = f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "none"
        table.add_row("CUDA devices (torch)", cuda, "GPU training, AMP, torchrun")
    Console().print(table)
