"""Glass-fibre reinforced PA66 (Bertoldo et al.): matrix, fibres and pores, three phases."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from porelab.errors import ConfigError
from porelab.simulate.phantoms.canvas import PoreCanvas
from porelab.simulate.phantoms.ground_truth import achieved_porosity, phantom_pores
from porelab.simulate.phantoms.model import Phantom, PorePopulation, check_shape
from porelab.simulate.phantoms.populate import populate
from porelab.simulate.phantoms.render import inside
from porelab.simulate.phantoms.shapes import Capsule

MATRIX, FIBRE = 1, 2


@dataclass(frozen=True)
class FibreLayout:
    """Short glass fibres: diameter and length in micrometres, the voxel size, the fibre
    volume fraction, the preferred direction (z, y, x) and the spread of angles around it."""

    diameter_um: float = 10.0
    length_um: tuple[float, float] = (150.0, 300.0)
    voxel_size_um: float = 1.6
    volume_fraction: float = 0.17  # PA66-GF30: 30 wt % glass is ~17 vol %
    direction: tuple[float, float, float] = (0.0, 0.0, 1.0)
    spread_deg: float = 12.0
    max_overlap: float = 0.02

    def __post_init__(self) -> None:
        if not 0.0 <= self.volume_fraction < 0.6:
            raise ConfigError(f"FibreLayout.volume_fraction: expected in [0, 0.6), got {self.volume_fraction!r}")
        if self.diameter_um <= 0 or self.voxel_size_um <= 0 or min(self.length_um) <= 0:
            raise ConfigError(
                "FibreLayout: diameter_um, length_um and voxel_size_um must be "
                f"positive, got {self.diameter_um!r}, {self.length_um!r}, "
                f"{self.voxel_size_um!r}"
            )
        if np.linalg.norm(self.direction) == 0:
            raise ConfigError("FibreLayout.direction: expected a non-zero vector (z, y, x)")


def _composite_pores() -> PorePopulation:
    return PorePopulation(
        porosity_percent=1.0, kinds={"gas": 1.0}, diameter_median_vox=4.0, diameter_sigma=0.4, surface_fraction=0.0
    )


def composite(
    shape: tuple[int, int, int] = (96, 96, 96),
    seed: int = 0,
    fibres: FibreLayout | None = None,
    pores: PorePopulation | None = None,
    supersample: int = 3,
) -> Phantom:
    """A block cut from inside a moulded part: every voxel is PA66 or E-glass (no air), pores
    lie in the matrix (void never replaces fibre)."""
    dims = check_shape(shape, "composite", minimum=16)
    layout = fibres or FibreLayout()
    population = pores if pores is not None else _composite_pores()
    rng = np.random.default_rng(seed)
    materials = np.full(dims, MATRIX, dtype=np.uint8)
    fibre_fraction = _lay_fibres(materials, layout, rng)
    solid = np.ones(dims, dtype=bool)
    canvas = PoreCanvas(solid, materials == MATRIX, supersample)
    populate(canvas, population, rng)
    voxel = layout.voxel_size_um / 1000.0
    metadata = {
        "part": "composite block",
        "voxel_size_mm": voxel,
        "fibre_diameter_um": layout.diameter_um,
        "fibre_direction": list(layout.direction),
        "fibre_volume_fraction_target": layout.volume_fraction,
        "fibre_volume_fraction": fibre_fraction,
        "porosity_target_percent": population.porosity_percent,
        "porosity_percent": achieved_porosity(canvas),
        "pore_count": canvas.count,
        "phases": {"matrix": MATRIX, "fibre": FIBRE, "pore": "pore_labels > 0"},
    }
    return Phantom(
        name="composite",
        materials=materials,
        material_names={0: "air", MATRIX: "PA66", FIBRE: "E-glass"},
        pore_fraction=canvas.fraction,
        pore_labels=canvas.labels,
        pores=phantom_pores(canvas, (voxel,) * 3),
        voxel_size=(voxel,) * 3,
        seed=seed,
        metadata=metadata,
    )


def _lay_fibres(materials: np.ndarray, layout: FibreLayout, rng: np.random.Generator) -> float:
    """Add fibres until the fibre fraction is reached; a fibre that would overlap earlier ones
    by more than `max_overlap` of its voxels is redrawn (at most ~30 tries per fibre). Fibre
    voxels are those whose centre lies in the fibre. Returns the achieved fraction.

    A fibre whose axis passes within one diameter of an earlier fibre's axis overlaps it, so
    the axis is first checked against `keep_out` (earlier fibres grown to twice the radius):
    most rejections then cost a few lookups instead of a voxelisation.
    """
    target = layout.volume_fraction * materials.size
    radius = layout.diameter_um / layout.voxel_size_um / 2.0
    mean_length = float(np.mean(layout.length_um)) / layout.voxel_size_um
    max_attempts = 30 * int(target / (np.pi * radius**2 * mean_length) + 10)
    keep_out = np.zeros(materials.shape, dtype=bool)
    placed, attempts = 0, 0
    while placed < target and attempts < max_attempts:
        attempts += 1
        fibre = _draw_fibre(materials.shape, layout, radius, rng)
        if _axis_blocked(fibre, keep_out):
            continue
        found = _fibre_voxels(fibre, materials.shape)
        if found is None:
            continue
        slices, voxels = found
        region = materials[slices]
        taken = (region[voxels] == FIBRE).sum()
        if not voxels.any() or taken > layout.max_overlap * voxels.sum():
            continue
        placed += int(voxels.sum() - taken)
        region[voxels] = FIBRE
        _mark(keep_out, Capsule(fibre.start, fibre.end, 2.0 * radius))
    return placed / materials.size


def _axis_blocked(fibre: Capsule, keep_out: np.ndarray) -> bool:
    length = float(np.linalg.norm(fibre.end - fibre.start))
    t = np.linspace(0.0, 1.0, max(2, int(2.0 * length)))[:, None]
    points = np.rint(fibre.start + t * (fibre.end - fibre.start)).astype(int)
    valid = np.all((points >= 0) & (points < np.asarray(keep_out.shape)), axis=1)
    return bool(keep_out[tuple(points[valid].T)].any())


def _mark(target: np.ndarray, capsule: Capsule) -> None:
    found = _fibre_voxels(capsule, target.shape)
    if found is not None:
        target[found[0]] |= found[1]


def _draw_fibre(shape: tuple[int, ...], layout: FibreLayout, radius: float, rng: np.random.Generator) -> Capsule:
    preferred = np.asarray(layout.direction, dtype=float)
    preferred /= np.linalg.norm(preferred)
    spread = np.tan(np.deg2rad(layout.spread_deg))
    axis = preferred + spread * rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    half = rng.uniform(*layout.length_um) / layout.voxel_size_um / 2.0
    centre = rng.uniform(0.0, 1.0, size=3) * (np.asarray(shape) - 1)
    return Capsule(centre - half * axis, centre + half * axis, radius)


def _fibre_voxels(fibre: Capsule, shape: tuple[int, ...]) -> tuple[tuple[slice, ...], np.ndarray] | None:
    """Voxels of a long, tilted fibre, found piece by piece along its axis: the bounding box of
    the whole fibre would be mostly empty and cost ~10x more distance evaluations."""
    lo, hi = fibre.bounds()
    start = np.maximum(np.floor(lo).astype(int), 0)
    stop = np.minimum(np.ceil(hi).astype(int) + 1, np.asarray(shape))
    if np.any(stop <= start):
        return None
    mask = np.zeros(tuple(stop - start), dtype=bool)
    length = float(np.linalg.norm(fibre.end - fibre.start))
    n_pieces = max(1, int(np.ceil(length / max(8.0 * fibre.radius, 16.0))))
    ends = np.linspace(0.0, 1.0, n_pieces + 1)[:, None] * (fibre.end - fibre.start) + fibre.start
    for a, b in zip(ends[:-1], ends[1:]):
        piece = inside(Capsule(a, b, fibre.radius), shape)
        if piece is not None:
            box, voxels = piece
            local = tuple(slice(s.start - o, s.stop - o) for s, o in zip(box, start))
            mask[local] |= voxels
    return tuple(slice(int(a), int(b)) for a, b in zip(start, stop)), mask
