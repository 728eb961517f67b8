"""Make the bundled default model from a training checkpoint (run from the repository root).

    python tools/bundle_default.py runs/default/best.safetensors

Writes ``inpaint/assets/default.safetensors`` (float16 weights, 13 MB, for ``--engine torch``) and
``inpaint/assets/default.onnx`` (standard ops, float32, verified against PyTorch): the weights are rounded
to float16 first, so both files hold exactly the same values.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from inpaint.export.onnx import export_onnx
from inpaint.export.verify import verify_onnx
from inpaint.models.checkpoint import file_sha256, load_model, read_metadata, save_model

ASSETS = Path(__file__).resolve().parent.parent / "inpaint" / "assets"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--assets", type=Path, default=ASSETS)
    args = ap.parse_args()
    model = load_model(args.checkpoint)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())
    step = read_metadata(args.checkpoint).get("step", "?")
    ckpt = save_model(model, args.assets / "default.safetensors", half=True, step=step, source=args.checkpoint.name)
    onnx_path = export_onnx(model, args.assets / "default.onnx", ops="standard", checkpoint_sha256=file_sha256(ckpt))
    for case in verify_onnx(model, onnx_path):
        print(f"verify {case.name}: max abs err {case.max_abs_err:.2e}")
    for p in (ckpt, onnx_path):
        print(f"{p} {p.stat().st_size / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
