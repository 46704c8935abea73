"""An asymmetric two-material test phantom: mirror or sign errors in a geometry show on it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest


@dataclass
class SmallPhantom:
    name: str
    materials: np.ndarray
    material_names: dict
    pore_fraction: np.ndarray
    voxel_size: tuple


def asymmetric_phantom(n: int = 48, slices: int = 3) -> SmallPhantom:
    """An off-centre Ti disc with a pore, an AlSi7Mg bar in one corner; 0.05 mm voxels."""
    yy, xx = np.mgrid[:n, :n]
    materials = np.zeros((n, n), np.uint8)
    materials[(yy - 0.4 * n) ** 2 + (xx - 0.55 * n) ** 2 < (0.3 * n) ** 2] = 1
    materials[int(0.72 * n) : int(0.85 * n), int(0.15 * n) : int(0.6 * n)] = 2
    pores = np.zeros((n, n), np.float32)
    pores[(yy - 0.35 * n) ** 2 + (xx - 0.65 * n) ** 2 < (0.08 * n) ** 2] = 1.0
    return SmallPhantom(
        "asymmetric",
        np.repeat(materials[None], slices, 0),
        {0: "air", 1: "Ti6Al4V", 2: "AlSi7Mg"},
        np.repeat(pores[None], slices, 0),
        (0.05, 0.05, 0.05),
    )


@pytest.fixture(scope="session")
def phantom() -> SmallPhantom:
    return asymmetric_phantom()


def _attenuation_truth(phantom: SmallPhantom, weights) -> np.ndarray:
    """The spectrum-weighted mu (1/mm) map a perfect reconstruction would show."""
    from porelab.simulate.materials import effective_attenuation_per_mm

    out = np.zeros(phantom.materials.shape, np.float32)
    for label, key in phantom.material_names.items():
        if key != "air":
            out[phantom.materials == label] = effective_attenuation_per_mm(key, weights)
    return out * (1 - phantom.pore_fraction)


@pytest.fixture(scope="session")
def attenuation_truth():
    """truth(phantom, spectrum_weights) -> exact mu map (1/mm)."""
    return _attenuation_truth
