import cv2
import numpy as np
import pytest

from tests.runtime.fakes import FillRunner


@pytest.fixture
def runner():
    with FillRunner(stride=16, value=0.25) as r:
        yield r


def write_mask(path, size, box):
    """A white box (y0, y1, x0, x1) on black, (H, W) = size; returns the bool hole."""
    hole = np.zeros(size, bool)
    y0, y1, x0, x1 = box
    hole[y0:y1, x0:x1] = True
    assert cv2.imwrite(str(path), hole.astype(np.uint8) * 255)
    return hole
