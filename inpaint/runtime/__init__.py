"""Runtime: read images and masks, run an exported model (ONNX Runtime, TensorRT or PyTorch), write results."""
