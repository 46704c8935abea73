"""Additively manufactured parts: the 5 mm x 20 mm cylinder and the 9 mm cube of Iuso et al., and
the parts of the evaluation preset, which no training uses: a tilted hexagonal prism, a turned
cube and a bushing (a tube with a bore open at both ends and a threaded cross hole)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from porelab.errors import ConfigError
from porelab.simulate.phantoms import geometry
from porelab.simulate.phantoms.canvas import PoreCanvas
from porelab.simulate.phantoms.ground_truth import achieved_porosity, phantom_pores
from porelab.simulate.phantoms.model import Phantom, PorePopulation, check_material, check_shape
from porelab.simulate.phantoms.populate import populate
from porelab.simulate.phantoms.shapes import rotation_zyx

AM_MATERIALS = ("Ti6Al4V", "CoCr", "316L", "AlSi10Mg")
CYLINDER_MM = (20.0, 5.0)  # height, diameter
CUBE_MM = 9.0
_MARGIN = 0.06


def am_cylinder(
    shape: tuple[int, int, int] = (128, 40, 40),
    material: str = "Ti6Al4V",
    seed: int = 0,
    pores: PorePopulation | None = None,
    supersample: int = 3,
) -> Phantom:
    """The papers' 5 mm x 20 mm cylinder (axis along z), scaled to the largest size that fits
    `shape` with a small margin; isotropic voxels."""
    dims = check_shape(shape, "am_cylinder")
    check_material(material, AM_MATERIALS, "am_cylinder")
    height, diameter = CYLINDER_MM
    scale = geometry.fit_scale(dims, (height, diameter, diameter), _MARGIN, "am_cylinder")
    solid = geometry.cylinder(dims, radius=diameter * scale / 2.0, height=height * scale)
    part = {"part": "cylinder", "height_mm": height, "diameter_mm": diameter}
    return _am_part("am-cylinder", solid, material, scale, seed, pores, supersample, part)


def am_cube(
    shape: tuple[int, int, int] = (96, 96, 96),
    material: str = "Ti6Al4V",
    seed: int = 0,
    pores: PorePopulation | None = None,
    supersample: int = 3,
) -> Phantom:
    """The papers' 9 mm cube, scaled to fit `shape` with a small margin; isotropic voxels."""
    dims = check_shape(shape, "am_cube")
    check_material(material, AM_MATERIALS, "am_cube")
    scale = geometry.fit_scale(dims, (CUBE_MM,) * 3, _MARGIN, "am_cube")
    solid = geometry.box(dims, (CUBE_MM * scale,) * 3)
    part = {"part": "cube", "side_mm": CUBE_MM}
    return _am_part("am-cube", solid, material, scale, seed, pores, supersample, part)


@dataclass(frozen=True)
class BushingDesign:
    """A tube along z (outer and bore diameter, height; mm) with a threaded hole along x
    through one wall at mid-height (ISO metric: major radius and pitch, mm; a major radius of
    0 leaves the hole out)."""

    outer_diameter_mm: float = 8.0
    bore_diameter_mm: float = 4.0
    height_mm: float = 10.0
    thread_major_radius_mm: float = 1.2
    thread_pitch_mm: float = 0.5


def am_prism(
    shape: tuple[int, int, int] = (96, 96, 96),
    material: str = "Ti6Al4V",
    seed: int = 0,
    pores: PorePopulation | None = None,
    apothem_mm: float = 3.0,
    height_mm: float = 10.0,
    tilt_deg: float = 25.0,
    azimuth_deg: float = 30.0,
    supersample: int = 3,
) -> Phantom:
    """A regular hexagonal prism whose axis is tilted `tilt_deg` from z towards `azimuth_deg`,
    scaled to fit `shape`; isotropic voxels."""
    dims = check_shape(shape, "am_prism")
    check_material(material, AM_MATERIALS, "am_prism")
    rotation = rotation_zyx(np.radians(tilt_deg), np.radians(azimuth_deg), np.radians(10.0))
    radius = apothem_mm / np.cos(np.pi / 6.0)
    angles = np.arange(6) * np.pi / 3.0 + np.pi / 6.0
    corners = np.array(
        [[u, radius * np.cos(a), radius * np.sin(a)] for u in (-height_mm / 2, height_mm / 2) for a in angles]
    )
    extent = tuple(2.0 * np.abs(corners @ rotation).max(axis=0))  # rows of `rotation` map frame -> z, y, x
    scale = geometry.fit_scale(dims, extent, _MARGIN, "am_prism")
    solid = geometry.hexagonal_prism(dims, apothem_mm * scale, height_mm * scale, rotation)
    part = {
        "part": "prism",
        "apothem_mm": apothem_mm,
        "height_mm": height_mm,
        "tilt_deg": tilt_deg,
        "azimuth_deg": azimuth_deg,
    }
    return _am_part("am-prism", solid, material, scale, seed, pores, supersample, part)


def am_turned_cube(
    shape: tuple[int, int, int] = (96, 96, 96),
    material: str = "CoCr",
    seed: int = 0,
    pores: PorePopulation | None = None,
    side_mm: float = 7.0,
    turn_deg: float = 30.0,
    tilt_deg: float = 15.0,
    supersample: int = 3,
) -> Phantom:
    """A cube turned `turn_deg` about z and tilted `tilt_deg`, scaled to fit `shape`."""
    dims = check_shape(shape, "am_turned_cube")
    check_material(material, AM_MATERIALS, "am_turned_cube")
    rotation = rotation_zyx(np.radians(tilt_deg), 0.0, np.radians(turn_deg))
    half = side_mm / 2.0
    corners = np.array([[a, b, c] for a in (-half, half) for b in (-half, half) for c in (-half, half)])
    extent = tuple(2.0 * np.abs(corners @ rotation).max(axis=0))
    scale = geometry.fit_scale(dims, extent, _MARGIN, "am_turned_cube")
    solid = geometry.rotated_box(dims, (side_mm * scale,) * 3, rotation)
    part = {"part": "turned cube", "side_mm": side_mm, "turn_deg": turn_deg, "tilt_deg": tilt_deg}
    return _am_part("am-turned-cube", solid, material, scale, seed, pores, supersample, part)


def am_bushing(
    shape: tuple[int, int, int] = (96, 96, 96),
    material: str = "316L",
    seed: int = 0,
    pores: PorePopulation | None = None,
    design: BushingDesign | None = None,
    supersample: int = 3,
) -> Phantom:
    """A bushing (`BushingDesign`) along z, scaled to fit `shape`: its bore and threaded hole
    are open to the outside, so neither is a pore."""
    dims = check_shape(shape, "am_bushing")
    check_material(material, AM_MATERIALS, "am_bushing")
    design = design or BushingDesign()
    outer = design.outer_diameter_mm
    scale = geometry.fit_scale(dims, (design.height_mm, outer, outer), _MARGIN, "am_bushing")
    z, y, x = geometry.rotated_coordinates(dims, np.eye(3))
    z, y, x = z / scale, y / scale, x / scale
    radial = y**2 + x**2
    solid = (np.abs(z) <= design.height_mm / 2.0) & (radial <= (outer / 2.0) ** 2)
    solid &= radial > (design.bore_diameter_mm / 2.0) ** 2
    if design.thread_major_radius_mm > 0:
        solid &= ~(geometry.threaded_hole(x, z, y, design.thread_major_radius_mm, design.thread_pitch_mm) & (x > 0))
    part = {
        "part": "bushing",
        "outer_diameter_mm": outer,
        "bore_diameter_mm": design.bore_diameter_mm,
        "height_mm": design.height_mm,
        "thread_major_radius_mm": design.thread_major_radius_mm,
        "thread_pitch_mm": design.thread_pitch_mm,
    }
    return _am_part("am-bushing", solid, material, scale, seed, pores, supersample, part)


def phantom_from_solid(
    solid: np.ndarray,
    material: str,
    voxel_size_mm: float,
    seed: int = 0,
    pores: PorePopulation | None = None,
    name: str = "user-part",
    supersample: int = 3,
) -> Phantom:
    """A phantom of any part (bool `solid`, e.g. a user's part mask) in an AM material, with
    pores drawn inside it; isotropic voxels of `voxel_size_mm`.

    Example:
        >>> phantom = phantom_from_solid(mask > 0, "316L", 0.05, seed=1, pores=PorePopulation(1.0))
    """
    solid = np.asarray(solid, bool)
    check_shape(solid.shape, name)
    check_material(material, AM_MATERIALS, name)
    if not voxel_size_mm > 0:
        raise ConfigError(f"{name}: voxel_size_mm={voxel_size_mm}; expected > 0")
    if not solid.any():
        raise ConfigError(f"{name}: the part mask holds no part voxel; expected nonzero voxels where the part is")
    return _am_part(name, solid, material, 1.0 / voxel_size_mm, seed, pores, supersample, {"part": name})


def _am_part(
    name: str,
    solid: np.ndarray,
    material: str,
    scale: float,
    seed: int,
    pores: PorePopulation | None,
    supersample: int,
    part: dict,
) -> Phantom:
    population = pores if pores is not None else PorePopulation()
    rng = np.random.default_rng(seed)
    canvas = PoreCanvas(solid, solid, supersample)
    populate(canvas, population, rng)
    voxel = 1.0 / scale
    voxel_size = (voxel, voxel, voxel)
    metadata = {
        **part,
        "voxel_size_mm": voxel,
        "material": material,
        "porosity_target_percent": population.porosity_percent,
        "porosity_percent": achieved_porosity(canvas),
        "pore_count": canvas.count,
        "build_direction": "z",
        "supersample": supersample,
    }
    return Phantom(
        name=name,
        materials=solid.astype(np.uint8),
        material_names={0: "air", 1: material},
        pore_fraction=canvas.fraction,
        pore_labels=canvas.labels,
        pores=phantom_pores(canvas, voxel_size),
        voxel_size=voxel_size,
        seed=seed,
        metadata=metadata,
    )
