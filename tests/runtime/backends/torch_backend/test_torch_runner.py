"""PyTorch backend: a checkpoint loads with its metadata and runs the graph-contract computation."""

from __future__ import annotations

import numpy as np
import pytest

from inpaint.errors import UserError
from inpaint.runtime.backends import load_runner


def test_checkpoint_runs_like_the_model(model_files):
    import torch

    from inpaint.models.checkpoint import load_model

    with load_runner(model_files["checkpoint"], "torch", "cpu") as runner:
        assert (runner.metadata.preset, runner.metadata.stride, runner.metadata.ops) == ("madf-t", 16, "torch")
        assert runner.device == "cpu"
        rng = np.random.default_rng(0)
        image = rng.random((2, 3, 32, 48), dtype=np.float32)
        mask = (rng.random((2, 1, 32, 48)) > 0.7).astype(np.float32)
        out = runner.infer(image, mask)
    with torch.no_grad():
        ref = load_model(model_files["checkpoint"])(torch.from_numpy(image), torch.from_numpy(mask)).numpy()
    assert np.array_equal(out, ref)
    known = np.broadcast_to(mask == 0, image.shape)
    assert np.array_equal(out[known], image[known])


def test_not_a_checkpoint(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not safetensors")
    with pytest.raises(UserError, match="bad.safetensors"):
        load_runner(bad, "torch").activate()
