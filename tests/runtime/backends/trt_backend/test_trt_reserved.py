"""TensorRT is a reserved engine name: selecting it explains, nothing pretends to run."""

from __future__ import annotations

import pytest

from inpaint.errors import UserError
from inpaint.runtime.backends import ENGINES, load_runner


def test_trt_row_is_reserved_and_never_auto():
    (trt,) = [e for e in ENGINES if e.name == "trt"]
    assert not trt.auto and trt.rank == min(e.rank for e in ENGINES)


def test_trt_raises_user_error(model_files):
    with pytest.raises(UserError, match="--engine onnx"):
        load_runner(model_files["onnx"], "trt")
