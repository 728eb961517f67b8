"""Custom operators: one folder each, with contract, reference maths, torch forms and ONNX translation."""
