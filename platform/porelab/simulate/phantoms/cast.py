"""A cast aluminium housing (Fuchs et al.): a bore, a threaded hole, thin walls, gas pores and
shrinkage clusters, with internal and surface-breaking defects as separate classes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from porelab.simulate.phantoms import geometry
from porelab.simulate.phantoms.canvas import PoreCanvas
from porelab.simulate.phantoms.ground_truth import achieved_porosity, phantom_pores
from porelab.simulate.phantoms.model import Phantom, PorePopulation, check_shape
from porelab.simulate.phantoms.populate import populate

_MARGIN = 0.05


@dataclass(frozen=True)
class HousingDesign:
    """Dimensions of the housing in mm. The block is (z, y, x) = `block_mm`; a bore runs
    through it along z; a pocket open at the top leaves walls `wall_mm` thick; a threaded hole
    (ISO metric profile, helical) joins the bottom face to the pocket floor."""

    block_mm: tuple[float, float, float] = (30.0, 24.0, 36.0)
    bore_radius_mm: float = 5.0
    wall_mm: float = 2.0
    pocket_floor_mm: float = 8.0
    thread_major_radius_mm: float = 5.0
    thread_pitch_mm: float = 1.5


def _cast_pores() -> PorePopulation:
    return PorePopulation(
        porosity_percent=0.8,
        kinds={"gas": 0.5, "shrinkage": 0.5},
        diameter_median_vox=4.0,
        diameter_sigma=0.5,
        surface_fraction=0.2,
    )


def cast_aluminium(
    shape: tuple[int, int, int] = (80, 64, 96),
    seed: int = 0,
    pores: PorePopulation | None = None,
    design: HousingDesign | None = None,
    supersample: int = 3,
) -> Phantom:
    """The housing scaled to fit `shape` (isotropic voxels), in AlSi7Mg, with gas pores and
    shrinkage clusters (default share 50/50); `defect_class` says internal or surface."""
    dims = check_shape(shape, "cast_aluminium", minimum=24)
    design = design or HousingDesign()
    population = pores if pores is not None else _cast_pores()
    scale = geometry.fit_scale(dims, design.block_mm, _MARGIN, "cast_aluminium")
    solid = _housing(dims, design, scale)
    canvas = PoreCanvas(solid, solid, supersample)
    populate(canvas, population, np.random.default_rng(seed))
    voxel = 1.0 / scale
    metadata = {
        "part": "housing",
        "block_mm": list(design.block_mm),
        "bore_radius_mm": design.bore_radius_mm,
        "wall_mm": design.wall_mm,
        "thread_major_radius_mm": design.thread_major_radius_mm,
        "thread_pitch_mm": design.thread_pitch_mm,
        "voxel_size_mm": voxel,
        "material": "AlSi7Mg",
        "porosity_target_percent": population.porosity_percent,
        "porosity_percent": achieved_porosity(canvas),
        "pore_count": canvas.count,
        "supersample": supersample,
    }
    return Phantom(
        name="cast-aluminium",
        materials=solid.astype(np.uint8),
        material_names={0: "air", 1: "AlSi7Mg"},
        pore_fraction=canvas.fraction,
        pore_labels=canvas.labels,
        pores=phantom_pores(canvas, (voxel,) * 3),
        voxel_size=(voxel,) * 3,
        seed=seed,
        metadata=metadata,
    )


def _housing(shape: tuple[int, int, int], design: HousingDesign, scale: float) -> np.ndarray:
    """The part in mm coordinates with the block's corner (z, y, x) = 0."""
    block = np.asarray(design.block_mm)
    corner = geometry.centre_of(shape) - block * scale / 2.0
    z, y, x = ((c - o) / scale for c, o in zip(geometry.grid(shape), corner))
    solid = (z >= 0) & (z <= block[0]) & (y >= 0) & (y <= block[1]) & (x >= 0) & (x <= block[2])
    bore_x = design.wall_mm + design.bore_radius_mm + 2.0
    solid &= (y - block[1] / 2) ** 2 + (x - bore_x) ** 2 > design.bore_radius_mm**2
    pocket_x0 = bore_x + design.bore_radius_mm + design.wall_mm
    pocket = (
        (z > design.pocket_floor_mm)
        & (y > design.wall_mm)
        & (y < block[1] - design.wall_mm)
        & (x > pocket_x0)
        & (x < block[2] - design.wall_mm)
    )
    thread_x = (pocket_x0 + block[2] - design.wall_mm) / 2.0
    near = _near_axis(shape, corner, scale, (block[1] / 2, thread_x), design)
    hole = np.zeros(shape, dtype=bool)
    hole[near] = _threaded_hole(z[near[0], :, :], y[:, near[1], :] - block[1] / 2, x[:, :, near[2]] - thread_x, design)
    return solid & ~pocket & ~(hole & (z <= design.pocket_floor_mm + 0.5))


def _near_axis(
    shape: tuple[int, int, int], corner: np.ndarray, scale: float, axis_yx: tuple[float, float], design: HousingDesign
) -> tuple[slice, ...]:
    """The voxel box around the threaded hole (the thread is costly to evaluate everywhere)."""
    reach = design.thread_major_radius_mm + 1.0
    top = design.pocket_floor_mm + 1.0
    lo = np.array([-1.0, axis_yx[0] - reach, axis_yx[1] - reach]) * scale + corner
    hi = np.array([top, axis_yx[0] + reach, axis_yx[1] + reach]) * scale + corner
    return tuple(slice(max(int(a), 0), min(int(np.ceil(b)) + 1, n)) for a, b, n in zip(lo, hi, shape))


def _threaded_hole(z: np.ndarray, dy: np.ndarray, dx: np.ndarray, design: HousingDesign) -> np.ndarray:
    return geometry.threaded_hole(z, dy, dx, design.thread_major_radius_mm, design.thread_pitch_mm)
