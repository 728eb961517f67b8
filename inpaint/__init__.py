"""inpaint: train MADF and FAR, export them to ONNX with custom operators, run them anywhere.

Mask convention at every public surface: white / non-zero / 1 = the region to remove (the hole).
Importing this package imports neither torch nor onnxruntime.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
