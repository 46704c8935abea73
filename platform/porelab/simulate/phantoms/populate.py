"""Filling a part with a pore population up to its target porosity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from porelab.simulate.phantoms.canvas import PoreCanvas
from porelab.simulate.phantoms.model import PorePopulation
from porelab.simulate.phantoms.pore_shapes import FACTORIES

_FAILURES_IN_A_ROW = 300  # a part that rejects this many pores in a row is full


@dataclass(frozen=True)
class _Sites:
    """Flat indices of the voxels where pore centres are drawn."""

    inside: np.ndarray
    surface: np.ndarray

    @classmethod
    def of(cls, solid: np.ndarray, host: np.ndarray) -> "_Sites":
        inside = host & solid
        return cls(np.flatnonzero(inside), np.flatnonzero(inside & _next_to_outside(solid)))


def _next_to_outside(solid: np.ndarray) -> np.ndarray:
    """Voxels with a face neighbour outside `solid` (the array border counts as outside).
    Shifted slices: a few times faster than scipy's binary erosion on a 256^3 grid."""
    padded = np.pad(solid, 1)
    centre = (slice(1, -1),) * 3
    outside = np.zeros(solid.shape, dtype=bool)
    for axis in range(3):
        for shift in (0, 2):
            window = list(centre)
            window[axis] = slice(shift, shift + solid.shape[axis])
            outside |= ~padded[tuple(window)]
    return outside


def sample_diameter(population: PorePopulation, rng: np.random.Generator, cap: float) -> float | None:
    """A log-normal equivalent diameter within [min, min(max, cap)]; None when cap < min."""
    high = min(population.diameter_max_vox, cap)
    if high < population.diameter_min_vox:
        return None
    for _ in range(100):
        d = population.diameter_median_vox * np.exp(population.diameter_sigma * rng.normal())
        if population.diameter_min_vox <= d <= high:
            return float(d)
    return float(rng.uniform(population.diameter_min_vox, high))


def _centre(
    sites: _Sites,
    surface: bool,
    shape: tuple[int, ...],
    kind: str,
    diameter: float,
    population: PorePopulation,
    rng: np.random.Generator,
) -> np.ndarray | None:
    pool = sites.surface if surface else sites.inside
    if len(pool) == 0:
        return None
    centre = np.array(np.unravel_index(int(rng.choice(pool)), shape), dtype=float)
    if diameter >= 3.0:  # small pores sit on a voxel centre so they fill at least one voxel
        centre += rng.uniform(-0.5, 0.5, size=3)
    if kind == "lack_of_fusion":  # between layers: on a layer boundary
        layer = population.layer_thickness_vox
        centre[0] = np.round(centre[0] / layer) * layer
    return centre


def populate(canvas: PoreCanvas, population: PorePopulation, rng: np.random.Generator) -> float:
    """Place pores until the void volume reaches the target, the pore count `max_pores`, or
    the part rejects `_FAILURES_IN_A_ROW` pores in a row (it cannot hold more of these sizes).
    Returns the achieved porosity %, which the phantoms report beside the target."""
    part_voxels = float(canvas.solid.sum())
    target = population.porosity_percent / 100.0 * part_voxels
    sites = _Sites.of(canvas.solid, canvas.host)
    names, shares = population.shares()
    opts = {"max_tilt_deg": population.keyhole_max_tilt_deg}
    placed, failures = 0.0, 0
    while placed < target and canvas.count < population.max_pores and failures < _FAILURES_IN_A_ROW:
        cap = (6.0 * 1.5 * (target - placed) / np.pi) ** (1.0 / 3.0)
        diameter = sample_diameter(population, rng, cap)
        if diameter is None:
            break
        kind = str(rng.choice(names, p=shares))
        surface = bool(rng.random() < population.surface_fraction)
        centre = _centre(sites, surface, canvas.solid.shape, kind, diameter, population, rng)
        added = 0.0 if centre is None else canvas.place(FACTORIES[kind](diameter, centre, rng, opts), kind, surface)
        placed += added
        failures = 0 if added else failures + 1
    return 100.0 * placed / part_voxels if part_voxels else 0.0
