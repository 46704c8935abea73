"""Additively manufactured parts (Iuso et al.): the 5 mm x 20 mm cylinder and the 9 mm cube."""

from __future__ import annotations

import numpy as np

from porelab.simulate.phantoms import geometry
from porelab.simulate.phantoms.canvas import PoreCanvas
from porelab.simulate.phantoms.ground_truth import achieved_porosity, phantom_pores
from porelab.simulate.phantoms.model import Phantom, PorePopulation, check_material, check_shape
from porelab.simulate.phantoms.populate import populate

AM_MATERIALS = ("Ti6Al4V", "CoCr", "316L")
CYLINDER_MM = (20.0, 5.0)   # height, diameter
CUBE_MM = 9.0
_MARGIN = 0.06


def am_cylinder(shape: tuple[int, int, int] = (128, 40, 40), material: str = "Ti6Al4V",
                seed: int = 0, pores: PorePopulation | None = None,
                supersample: int = 3) -> Phantom:
    """The papers' 5 mm x 20 mm cylinder (axis along z), scaled to the largest size that fits
    `shape` with a small margin; isotropic voxels."""
    dims = check_shape(shape, "am_cylinder")
    check_material(material, AM_MATERIALS, "am_cylinder")
    height, diameter = CYLINDER_MM
    scale = geometry.fit_scale(dims, (height, diameter, diameter), _MARGIN, "am_cylinder")
    solid = geometry.cylinder(dims, radius=diameter * scale / 2.0, height=height * scale)
    part = {"part": "cylinder", "height_mm": height, "diameter_mm": diameter}
    return _am_part("am-cylinder", solid, material, scale, seed, pores, supersample, part)


def am_cube(shape: tuple[int, int, int] = (96, 96, 96), material: str = "Ti6Al4V",
            seed: int = 0, pores: PorePopulation | None = None,
            supersample: int = 3) -> Phantom:
    """The papers' 9 mm cube, scaled to fit `shape` with a small margin; isotropic voxels."""
    dims = check_shape(shape, "am_cube")
    check_material(material, AM_MATERIALS, "am_cube")
    scale = geometry.fit_scale(dims, (CUBE_MM,) * 3, _MARGIN, "am_cube")
    solid = geometry.box(dims, (CUBE_MM * scale,) * 3)
    part = {"part": "cube", "side_mm": CUBE_MM}
    return _am_part("am-cube", solid, material, scale, seed, pores, supersample, part)


def _am_part(name: str, solid: np.ndarray, material: str, scale: float, seed: int,
             pores: PorePopulation | None, supersample: int, part: dict) -> Phantom:
    population = pores if pores is not None else PorePopulation()
    rng = np.random.default_rng(seed)
    canvas = PoreCanvas(solid, solid, supersample)
    populate(canvas, population, rng)
    voxel = 1.0 / scale
    voxel_size = (voxel, voxel, voxel)
    metadata = {**part, "voxel_size_mm": voxel, "material": material,
                "porosity_target_percent": population.porosity_percent,
                "porosity_percent": achieved_porosity(canvas), "pore_count": canvas.count,
                "build_direction": "z", "supersample": supersample}
    return Phantom(name=name, materials=solid.astype(np.uint8),
                   material_names={0: "air", 1: material},
                   pore_fraction=canvas.fraction, pore_labels=canvas.labels,
                   pores=phantom_pores(canvas, voxel_size), voxel_size=voxel_size, seed=seed,
                   metadata=metadata)
