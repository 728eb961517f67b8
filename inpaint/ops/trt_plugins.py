"""The TensorRT plugins of every custom operator, as one registry (no TensorRT needed to import this).

Each operator's folder has a ``trt.py`` whose decorators (``tensorrt.plugin``: register, autotune,
aot_impl, impl) apply at import time only when ``tensorrt`` imports. The engine builder and the runner
import them through :func:`register_all` before parsing an ONNX graph or deserialising an engine, and
key engine caches on :func:`plugin_version`, which changes whenever a plugin's or kernel's source does.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from pathlib import Path

__all__ = ["plugin_api", "PLUGIN_MODULES", "KERNEL_MODULES", "SUPPORT_MODULES", "TRT_NODE_ATTRIBUTES", "register_all", "plugin_version"]

#: plugin modules, one per custom operator (``inpaint::<OpType>`` in TensorRT's plugin registry)
PLUGIN_MODULES = ("inpaint.ops.dynamic_conv.trt", "inpaint.ops.attention_aggregate.trt")
#: the Triton kernels the plugins launch (their source is part of an engine's identity)
KERNEL_MODULES = ("inpaint.ops.dynamic_conv.triton", "inpaint.ops.attention_aggregate.triton")
#: attributes every ``inpaint`` node of a plugin graph carries for TensorRT's ONNX parser, after the op's own:
#: ``plugin_namespace`` names the plugin's namespace (TensorRT 10.6-10.9 need it; from 10.10 the parser also
#: falls back to the node's domain); ``aot`` = 1 asks for the plugin's ``aot_impl`` (strict AOT), so engines
#: run without Python and Polygraphy needs no PREFER_AOT network flag. The parser passes neither to the plugin.
TRT_NODE_ATTRIBUTES = {"plugin_namespace": "inpaint", "aot": 1}
#: shared code that shapes the compiled kernels (PTX ISA pin, the .entry fix-up), hashed with them
SUPPORT_MODULES = ("inpaint.ops.triton_aot",)


def plugin_api():
    """(``tensorrt``, ``tensorrt.plugin``), or (None, None) without TensorRT or with one older than 10.6 (no
    quickly deployable plugins). The plugin modules decorate their functions only when these import."""
    try:
        import tensorrt as trt
        import tensorrt.plugin as trtp
    except (ImportError, AttributeError):
        return None, None
    return trt, trtp


def register_all() -> list[str]:
    """Import every plugin module (registering its plugin when TensorRT imports).

    Returns the modules' ``PLUGIN_NAME`` values ("inpaint::MaskAwareDynamicConv", ...) of the modules whose
    plugins are registered (``REGISTERED`` true); [] when TensorRT is absent.
    """
    names = []
    for module_name in PLUGIN_MODULES:
        module = importlib.import_module(module_name)
        if getattr(module, "REGISTERED", False):
            names.append(module.PLUGIN_NAME)
    return names


def _source(module_name: str) -> bytes:
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        return f"<missing {module_name}>".encode()
    return Path(spec.origin).read_bytes()


def plugin_version() -> str:
    """sha256 (first 16 hex digits) over the source of every plugin, kernel and support module, in a fixed order."""
    digest = hashlib.sha256()
    for module_name in (*PLUGIN_MODULES, *KERNEL_MODULES, *SUPPORT_MODULES):
        digest.update(module_name.encode() + b"\0" + _source(module_name) + b"\0")
    return digest.hexdigest()[:16]
