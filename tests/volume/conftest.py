import numpy as np
import pytest


@pytest.fixture
def grey_volume() -> np.ndarray:
    """A small asymmetric uint16 volume (every axis distinguishable)."""
    z, y, x = np.meshgrid(np.arange(7), np.arange(9), np.arange(11), indexing="ij")
    return (z * 1000 + y * 50 + x).astype(np.uint16)
