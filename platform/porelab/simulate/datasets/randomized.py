"""The `am-randomized` preset: training scans drawn over the acquisition space real scans span.

Each scan draws its part (cylinder, cube, tilted prism, turned cube, bushing with a bore and a
threaded hole, thin-walled tube), its material, its pores (kinds, sizes against the voxel,
porosity, surface-breaking share, some parts without any) and its acquisition (projections
against the full count, exposure, tube voltage and filter, so beam hardening; rings, scatter,
detector blur, source distance) from the ranges of a `RandomizedConfig`. Draws are seeded per
scan (`numpy.random.default_rng([seed, index])`), so adding scans keeps the earlier ones.
No scan shares a seed with the `am-cylinders` or `am-eval` presets.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import partial
from typing import Any

import numpy as np

from porelab.errors import ConfigError
from porelab.simulate.materials import tungsten_spectrum
from porelab.simulate.phantoms import (
    AM_MATERIALS,
    BushingDesign,
    Phantom,
    PorePopulation,
    am_bushing,
    am_cube,
    am_cylinder,
    am_prism,
    am_turned_cube,
)
from porelab.simulate.scanner.spec import AM_CYLINDER_PAPER, PAPER_GRID_SIDE, ScanSpec

PARTS = ("cylinder", "cube", "prism", "turned-cube", "bushing", "thin-wall")
Bounds = tuple[float, float]


@dataclass(frozen=True)
class RandomizedConfig:
    """The ranges each scan's settings are drawn from (uniformly; `projections` and `exposure`
    log-uniformly, as their effect on noise is multiplicative).

    Args:
        scans: scans in all; the last `validation_scans` have role "validation", the rest
            "train".
        grid_sides: voxels a side of each scan's grid (demo profile; the paper profile
            multiplies them by `paper_scale`).
        projections: fraction of the full projection count (the full count keeps the
            papers' projections per voxel across the part).
        exposure: fraction of the reference exposure (20,000 photons per pixel).
        tube_kv, copper_filter_mm: the tube spectrum (soft and unfiltered: strong beam
            hardening).
        gain_spread: per-column gain error the flat field misses (rings).
        scatter_fraction, blur_px, source_object_mm: scatter, detector blur (pixels),
            source distance (cone angle); the magnification is drawn from `magnification`.
        pore_median_vox, pore_sigma: pore equivalent diameters (voxels), log-normal.
        porosity_percent: target porosity of a porous part; `pore_free` is the share of parts
            without pores.
        surface_fraction: share of pores that break the surface.
    """

    scans: int = 40
    validation_scans: int = 12  # they set the operating point: 4 (two of them cubes) set it too low for other parts
    seed: int = 7000
    parts: tuple[str, ...] = PARTS
    materials: tuple[str, ...] = AM_MATERIALS
    grid_sides: tuple[int, ...] = (64, 80, 96)
    paper_scale: float = 4.0
    projections: Bounds = (0.25, 1.0)
    exposure: Bounds = (0.15, 1.0)
    tube_kv: Bounds = (130.0, 225.0)
    copper_filter_mm: Bounds = (0.0, 2.0)
    gain_spread: Bounds = (0.0, 0.01)
    scatter_fraction: Bounds = (0.0, 0.08)
    blur_px: Bounds = (0.3, 1.2)
    source_object_mm: Bounds = (40.0, 70.0)
    magnification: Bounds = (11.0, 16.0)
    pore_median_vox: Bounds = (1.5, 6.0)
    pore_sigma: Bounds = (0.3, 0.6)
    porosity_percent: Bounds = (0.2, 2.5)
    pore_free: float = 0.1
    surface_fraction: Bounds = (0.0, 0.15)

    def __post_init__(self) -> None:
        if not 0 <= self.validation_scans < self.scans:
            raise ConfigError(
                f"am-randomized: validation_scans={self.validation_scans}: expected 0 <= it < scans={self.scans}"
            )
        for name in ("parts", "materials"):
            allowed = PARTS if name == "parts" else AM_MATERIALS
            unknown = set(getattr(self, name)) - set(allowed)
            if not getattr(self, name) or unknown:
                raise ConfigError(
                    f"am-randomized: {name}={list(getattr(self, name))}: expected a non-empty subset of {list(allowed)}"
                )
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "Bounds" and not (len(value) == 2 and 0 <= value[0] <= value[1]):
                raise ConfigError(f"am-randomized: {f.name}={list(value)}: expected [low, high] with 0 <= low <= high")
        if not 0 <= self.pore_free <= 1:
            raise ConfigError(f"am-randomized: pore_free={self.pore_free}: expected a share in [0, 1]")
        if self.projections[0] <= 0 or self.exposure[0] <= 0:
            raise ConfigError("am-randomized: projections and exposure: expected ranges above 0")

    def to_dict(self) -> dict[str, Any]:
        return json_ready(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RandomizedConfig":
        """From a YAML/JSON mapping (lists become tuples); unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"am-randomized: unknown settings {sorted(unknown)}; expected some of {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def json_ready(data: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


@dataclass(frozen=True)
class ScanDraw:
    """One scan's drawn settings (what the manifest records beside the spec)."""

    index: int
    phantom_seed: int
    part: str
    material: str
    side: int
    part_options: dict[str, float]
    pores: PorePopulation
    spec: ScanSpec


def _log_uniform(rng: np.random.Generator, bounds: Bounds) -> float:
    return float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))


def _uniform(rng: np.random.Generator, bounds: Bounds) -> float:
    return float(rng.uniform(*bounds))


def _part_options(part: str, rng: np.random.Generator) -> dict[str, float]:
    if part == "prism":
        return {
            "tilt_deg": _uniform(rng, (0.0, 60.0)),
            "azimuth_deg": _uniform(rng, (0.0, 360.0)),
            "apothem_mm": _uniform(rng, (2.0, 3.5)),
        }
    if part == "turned-cube":
        return {"turn_deg": _uniform(rng, (0.0, 45.0)), "tilt_deg": _uniform(rng, (0.0, 35.0))}
    if part == "bushing":
        return {"bore_ratio": _uniform(rng, (0.3, 0.55)), "thread_major_radius_mm": _uniform(rng, (0.8, 1.5))}
    if part == "thin-wall":
        return {"bore_ratio": _uniform(rng, (0.7, 0.82))}
    return {}


def _spec(config: RandomizedConfig, rng: np.random.Generator, side: int, seed: int) -> ScanSpec:
    grid = round(side * 0.9)
    full = AM_CYLINDER_PAPER.n_projections * grid / PAPER_GRID_SIDE[AM_CYLINDER_PAPER.name]
    source_object = _uniform(rng, config.source_object_mm)
    weights = tungsten_spectrum(
        tube_kv=_uniform(rng, config.tube_kv), copper_filter_mm=_uniform(rng, config.copper_filter_mm)
    )
    return AM_CYLINDER_PAPER.with_(
        name="am-randomized",
        n_projections=max(8, round(full * _log_uniform(rng, config.projections))),
        exposure=round(AM_CYLINDER_PAPER.exposure * _log_uniform(rng, config.exposure), 1),
        spectrum_weights=tuple(float(w) for w in weights),
        gain_spread=_uniform(rng, config.gain_spread),
        scatter_fraction=_uniform(rng, config.scatter_fraction),
        blur_px=_uniform(rng, config.blur_px),
        source_object_mm=source_object,
        source_detector_mm=source_object * _uniform(rng, config.magnification),
        seed=seed,
    )


def draw_scan(config: RandomizedConfig, index: int, profile: str) -> ScanDraw:
    """The settings of scan `index` (seeded by the config's seed and the index alone)."""
    rng = np.random.default_rng([config.seed, index])
    part = str(rng.choice(list(config.parts)))
    material = str(rng.choice(list(config.materials)))
    side = int(rng.choice(list(config.grid_sides)))
    if profile == "paper":
        side = round(side * config.paper_scale)
    options = _part_options(part, rng)
    porous = rng.random() >= config.pore_free
    pores = PorePopulation(
        porosity_percent=_uniform(rng, config.porosity_percent) if porous else 0.0,
        diameter_median_vox=_uniform(rng, config.pore_median_vox),
        diameter_sigma=_uniform(rng, config.pore_sigma),
        surface_fraction=_uniform(rng, config.surface_fraction),
    )
    spec = _spec(config, rng, side, seed=config.seed + 1000 + index)
    return ScanDraw(index, config.seed + 2000 + index, part, material, side, options, pores, spec)


def grid_shape(draw: ScanDraw) -> tuple[int, int, int]:
    """The drawn scan's grid (z, y, x): a cylinder's is slender, every other part's a cube."""
    if draw.part == "cylinder":
        return (draw.side, max(24, draw.side // 2), max(24, draw.side // 2))
    return (draw.side,) * 3


def build_phantom(draw: ScanDraw) -> Phantom:
    """The drawn part with its pores (seeded by the draw)."""
    seed, o = draw.phantom_seed, draw.part_options
    if draw.part == "cylinder":
        return am_cylinder(grid_shape(draw), draw.material, seed, draw.pores)
    if draw.part == "cube":
        return am_cube((draw.side,) * 3, draw.material, seed, draw.pores)
    if draw.part == "prism":
        return am_prism(
            (draw.side,) * 3,
            draw.material,
            seed,
            draw.pores,
            apothem_mm=o["apothem_mm"],
            tilt_deg=o["tilt_deg"],
            azimuth_deg=o["azimuth_deg"],
        )
    if draw.part == "turned-cube":
        return am_turned_cube(
            (draw.side,) * 3, draw.material, seed, draw.pores, turn_deg=o["turn_deg"], tilt_deg=o["tilt_deg"]
        )
    design = BushingDesign(
        bore_diameter_mm=BushingDesign.outer_diameter_mm * o["bore_ratio"],
        thread_major_radius_mm=o.get("thread_major_radius_mm", 0.0),
    )
    return am_bushing((draw.side,) * 3, draw.material, seed, draw.pores, design=design)


def randomized_draws(config: RandomizedConfig, profile: str) -> list[ScanDraw]:
    return [draw_scan(config, i, profile) for i in range(config.scans)]


def scan_id(draw: ScanDraw) -> str:
    return f"rand-{draw.index:03d}-{draw.part}-{draw.material}"


def phantom_builder(draw: ScanDraw) -> Any:
    return partial(build_phantom, draw)
