from tests.runtime.model_files import model_files, plugin_onnx  # noqa: F401  (session fixtures)
