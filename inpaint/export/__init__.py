"""Export trained models: ONNX (custom-op or standard-op graphs), verified against PyTorch."""
