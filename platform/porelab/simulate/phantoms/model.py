"""The phantom record shared with the scanner, and the pore-population settings."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from porelab.errors import ConfigError

MATERIAL_KEYS = ("air", "Ti6Al4V", "CoCr", "316L", "AlSi7Mg", "AlSi10Mg", "PA66", "E-glass")
PORE_KINDS = ("gas", "keyhole", "lack_of_fusion", "shrinkage")


@dataclass
class Phantom:
    """A part on a voxel grid with its exact pore ground truth.

    The attenuating material of a voxel is `materials` with a fraction `pore_fraction` of it
    replaced by air.
    """

    name: str
    materials: np.ndarray  # uint8 (z, y, x), 0 = air outside the part
    material_names: dict[int, str]  # label -> material key; 0 -> "air"
    pore_fraction: np.ndarray  # float32 (z, y, x) in [0, 1]
    pore_labels: np.ndarray  # int32 (z, y, x), pore instance id, 0 = none
    pores: pd.DataFrame  # one row per pore instance
    voxel_size: tuple[float, float, float]
    seed: int
    metadata: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.materials.shape)

    def pore_mask(self) -> np.ndarray:
        """Voxels labelled as pore (the binary segmentation target)."""
        return self.pore_labels > 0


@dataclass(frozen=True)
class PorePopulation:
    """How many pores of which kinds and sizes a phantom gets.

    Sizes are equivalent diameters in voxels drawn from a log-normal distribution (median,
    sigma of the log) clipped to [diameter_min_vox, diameter_max_vox]. Pores are added until
    the pore volume reaches `porosity_percent` of the part, `max_pores`, or the part rejects
    300 pores in a row; metadata reports the porosity reached. `kinds` gives the
    share of each kind in the pore count; `surface_fraction` the share of pores that break the
    part surface.
    """

    porosity_percent: float = 1.0
    kinds: dict[str, float] = field(default_factory=lambda: {"gas": 0.6, "keyhole": 0.25, "lack_of_fusion": 0.15})
    diameter_median_vox: float = 4.0
    diameter_sigma: float = 0.5
    diameter_min_vox: float = 1.0
    diameter_max_vox: float = 20.0
    surface_fraction: float = 0.05
    max_pores: int = 20000
    layer_thickness_vox: float = 4.0
    keyhole_max_tilt_deg: float = 20.0

    def __post_init__(self) -> None:
        _check(0.0 <= self.porosity_percent < 50.0, "porosity_percent", "in [0, 50)", self.porosity_percent)
        _check(
            bool(self.kinds) and all(w >= 0 for w in self.kinds.values()) and sum(self.kinds.values()) > 0,
            "kinds",
            "non-negative shares with a positive sum",
            self.kinds,
        )
        _check(set(self.kinds) <= set(PORE_KINDS), "kinds", f"keys among {PORE_KINDS}", sorted(self.kinds))
        _check(
            0.5 <= self.diameter_min_vox <= self.diameter_max_vox,
            "diameter_min_vox",
            "at least 0.5 and at most diameter_max_vox",
            self.diameter_min_vox,
        )
        _check(
            self.diameter_median_vox > 0 and self.diameter_sigma >= 0,
            "diameter_median_vox",
            "a positive median and a non-negative sigma",
            (self.diameter_median_vox, self.diameter_sigma),
        )
        _check(0.0 <= self.surface_fraction <= 1.0, "surface_fraction", "in [0, 1]", self.surface_fraction)
        _check(self.max_pores >= 0, "max_pores", "non-negative", self.max_pores)
        _check(self.layer_thickness_vox > 0, "layer_thickness_vox", "positive", self.layer_thickness_vox)

    def shares(self) -> tuple[list[str], np.ndarray]:
        names = list(self.kinds)
        weights = np.array([self.kinds[k] for k in names], dtype=float)
        return names, weights / weights.sum()


def _check(ok: bool, name: str, expected: str, value: object) -> None:
    if not ok:
        raise ConfigError(f"PorePopulation.{name}: expected {expected}, got {value!r}")


def check_material(material: str, allowed: tuple[str, ...], builder: str) -> None:
    if material not in allowed:
        raise ConfigError(f"{builder}: material {material!r} is not one of {', '.join(allowed)}")


def check_shape(shape: tuple[int, ...], builder: str, minimum: int = 8) -> tuple[int, int, int]:
    dims = tuple(int(n) for n in shape)
    if len(dims) != 3 or min(dims) < minimum:
        raise ConfigError(f"{builder}: shape must be 3 sizes (z, y, x) of at least {minimum} voxels, got {shape!r}")
    return dims
