"""The ``inpaint`` command line (Typer). Importing it imports neither torch nor onnxruntime."""
