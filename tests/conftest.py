import cv2
import numpy as np
import pytest
import torch


@pytest.fixture
def photo_folder(tmp_path):
    """Six small synthetic 'photos' (smooth gradients + shapes), enough for the tiny presets."""
    root = tmp_path / "photos"
    root.mkdir()
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:80, 0:96] / 80.0
    for i in range(6):
        img = np.stack([xx * rng.random(), yy * rng.random(), (xx + yy) / 2 * rng.random()], -1)
        img = (img * 255).astype(np.uint8)
        cv2.circle(img, tuple(int(v) for v in rng.integers(10, 70, 2)), int(rng.integers(5, 20)), tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
        cv2.imwrite(str(root / f"p{i}.png"), img)
    return root


@pytest.fixture
def one_thread():
    """Tiny tensors gain nothing from intra-op threads, and on a loaded 2-core machine OpenMP threads
    spinning against other processes made each tiny step ~100x slower; restored afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
