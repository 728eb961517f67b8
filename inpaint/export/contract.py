"""The graph contract every exported model keeps, and the metadata a runtime reads (no torch here).

Inputs   ``image``     (N, 3, H, W) float32 RGB in [0, 1]
         ``mask``      (N, 1, H, W) float32, 1 = hole (the region to remove), 0 = known
Output   ``inpainted`` (N, 3, H, W) float32 in [0, 1], composited (known pixels = ``image``)
N, H and W are dynamic; H and W must be multiples of ``stride`` (the runtime pads).

``metadata_props`` keys (all strings), enough for a runtime that has nothing but the .onnx file.
"""

from __future__ import annotations

INPUT_IMAGE, INPUT_MASK, OUTPUT = "image", "mask", "inpainted"
MASK_CONVENTION = "1=hole"

KEY_FAMILY = "inpaint.family"  # "madf" | "far"
KEY_PRESET = "inpaint.preset"
KEY_CONFIG = "inpaint.config"  # JSON of model.config
KEY_STRIDE = "inpaint.stride"  # H and W multiple
KEY_TRAIN_SIZE = "inpaint.train_size"
KEY_MASK = "inpaint.mask_convention"
KEY_VERSION = "inpaint.version"
KEY_SHA256 = "inpaint.checkpoint_sha256"
KEY_OPS = "inpaint.ops"  # "plugin" | "standard"
KEY_CUSTOM_OPS = "inpaint.custom_ops"  # comma-separated op types of the "inpaint" domain in the graph
#: "fp32" | "fp16" | "bf16": the type the network body computes in (inpaint.export.precision); the graph's inputs
#: and output are float32 whatever it says. Absent in files written before it existed: read as "fp32".
KEY_PRECISION = "inpaint.precision"
KEY_TARGET = "inpaint.target"  # the runtime the graph was exported for: one of TARGETS
#: "fp32" | "int8": how the large MatMul weights are stored (inpaint.export.weights); absent: "fp32"
KEY_WEIGHTS = "inpaint.weights"

#: export targets (``inpaint export --target``): which runtime the graph's FFTs are lowered for.
#: ``onnx-cpu``: ONNX ``DFT`` nodes (ONNX Runtime's CPU provider has a DFT kernel); ``onnx-cuda`` and ``trt``:
#: DFT-matrix products (ONNX Runtime's CUDA provider has no DFT, TensorRT's parser reads it only from 11.2).
TARGET_ONNX_CPU, TARGET_ONNX_CUDA, TARGET_TRT = "onnx-cpu", "onnx-cuda", "trt"
TARGETS = (TARGET_ONNX_CPU, TARGET_ONNX_CUDA, TARGET_TRT)
#: the targets whose graphs may hold ONNX ``DFT`` nodes
DFT_TARGETS = frozenset({TARGET_ONNX_CPU})
