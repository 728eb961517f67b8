"""inpaint: train MADF and FAR, export them to ONNX with custom operators, run them anywhere.

Mask convention at every public surface: white / non-zero / 1 = the region to remove (the hole).
Importing this package imports neither torch nor onnxruntime.

    from inpaint import Inpainter                      # imported on first use
    out = Inpainter.load("madf.onnx").inpaint(rgb, mask)
"""

__version__ = "0.1.0"

__all__ = ["__version__", "Inpainter"]


def __getattr__(name: str):
    if name == "Inpainter":
        from inpaint.runtime.inpainter import Inpainter

        return Inpainter
    raise AttributeError(f"module 'inpaint' has no attribute {name!r}")
