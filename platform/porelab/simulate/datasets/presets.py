"""Dataset presets: which phantoms, pore populations and scan settings make a dataset.

`demo` grids are about 96-128 voxels a side with projection counts scaled from the papers'
(projections per voxel across the part kept), so the whole `am-cylinders` preset runs in
well under 3 minutes on 2 cores; `paper` uses the papers' sizes and counts (for clusters).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, Callable, Sequence

from porelab.errors import ConfigError
from porelab.simulate.phantoms import (
    Phantom,
    PorePopulation,
    am_bushing,
    am_cube,
    am_cylinder,
    am_prism,
    am_turned_cube,
    cast_aluminium,
    composite,
)
from porelab.simulate.datasets.randomized import (
    RandomizedConfig,
    grid_shape,
    json_ready,
    phantom_builder,
    randomized_draws,
    scan_id,
)
from porelab.simulate.scanner.degradations import keep_every_for_counts
from porelab.simulate.scanner.spec import (
    AM_CUBE_PAPER,
    AM_CYLINDER_PAPER,
    CAST_PAPER,
    COMPOSITE_PAPER,
    EVAL_SCANNER_PAPER,
    ScanSpec,
    scaled_to_grid,
)

PRESETS = ("am-cylinders", "am-eval", "am-randomized", "cast-aluminium", "composite", "welds")
PROFILES = ("demo", "paper")
BASELINES = ("otsu", "multi-otsu")

# grid shapes (z, y, x); paper: the papers' 13.3 um voxels for the AM parts
_SHAPES = {
    "demo": {
        "cylinder": (128, 40, 40),
        "cube": (96, 96, 96),
        "housing": (80, 64, 96),
        "composite": (96, 96, 96),
        "evaluation": (96, 96, 96),
        "selection": (80, 80, 80),
    },
    "paper": {
        "cylinder": (1510, 380, 380),
        "cube": (680, 680, 680),
        "housing": (320, 256, 384),
        "composite": (512, 512, 512),
        "evaluation": (400, 400, 400),
        "selection": (400, 400, 400),
    },
}
_CYLINDERS = (
    ("Ti6Al4V", 1.5, 4.0),
    ("CoCr", 2.0, 3.5),
    ("CoCr", 1.0, 5.0),
    ("316L", 2.5, 4.0),
    ("316L", 1.5, 3.0),
)  # material, porosity %, median equivalent diameter (voxels)
#: Fuchs et al.'s projection series, as counts (the first is the full scan).
CAST_SERIES = (3300, 330, 33)
#: Degraded copies of every good cylinder that calibrate the operating points (keep every k-th
#: projection, fraction of the exposure): two corners of Iuso et al.'s degradation grid.
CALIBRATION_DEGRADATIONS = ((2, 0.5), (3, 0.25))
#: The evaluation preset's degradation grid: {100, 50, 33} % of the projections x {100, 50, 25} %
#: of the exposure (the first is the clean scan).
EVALUATION_DEGRADATIONS = tuple((k, f) for k in (1, 2, 3) for f in (1.0, 0.5, 0.25))
#: The evaluation preset's parts: builder, material, phantom seed (none a training seed).
_EVALUATION_PARTS = (
    ("prism", am_prism, "Ti6Al4V", 61),
    ("turned-cube", am_turned_cube, "CoCr", 62),
    ("bushing", am_bushing, "316L", 63),
)
#: The cross-validation's selection scans (role "selection"): parts of other shapes than the
#: cylinders it trains on, scanned with the cylinders' scanner, clean and at the harshest
#: calibration corner. They calibrate every trial's operating point and choose the served model
#: (`porelab.sweep.cv.selection`): on the cylinders alone every model, and Otsu, scored alike, so
#: the choice did not say which model holds on other parts. Builder, material, phantom seed,
#: porosity %, median equivalent diameter (voxels); no seed, material pairing or pore population
#: of the evaluation preset.
_SELECTION_PARTS = (
    ("prism", am_prism, "CoCr", 71, 1.0, 3.0),
    ("turned-cube", am_turned_cube, "316L", 72, 1.5, 4.0),
    ("bushing", am_bushing, "Ti6Al4V", 73, 0.8, 2.5),
)
SELECTION_DEGRADATIONS = ((3, 0.25),)


@dataclass(frozen=True)
class ScanPlan:
    """One scan of a dataset: how to build the phantom, the spec, and the degradation applied.

    Plans sharing `phantom_key` and `spec` share one simulation (a projection series is
    degraded copies of one scan). `baseline` picks the filter-based labeller: "otsu"
    (Iuso et al.'s Algorithm 1) for parts in air, "multi-otsu" (three phases) for the
    composite block that has no air around it.
    """

    id: str
    role: str
    part: str
    material: str
    phantom_key: str
    build_phantom: Callable[[], Phantom]
    spec: ScanSpec
    shape: tuple[int, int, int]  # the phantom's grid (z, y, x), known before it is built
    keep_every: int = 1
    baseline: str = "otsu"
    exposure: float = 1.0
    source: str | None = None
    drawn: dict[str, Any] | None = None  # a randomized scan's drawn part and pore settings

    @property
    def degraded(self) -> bool:
        return self.keep_every > 1 or self.exposure < 1.0


def degraded_id(scan_id: str, keep_every: int, exposure: float) -> str:
    """`cylinder-1-Ti6Al4V-p2-e50`: every 2nd projection at 50 % of the exposure."""
    return f"{scan_id}-p{keep_every}-e{round(100 * exposure)}"


def _grid_side(shape: tuple[int, int, int]) -> int:
    """Voxels across the part in a slice (the papers' projection counts scale with it)."""
    return round(min(shape[1:]) * 0.9)


def _spec_for(paper: ScanSpec, profile: str, shape: tuple[int, int, int], seed: int) -> ScanSpec:
    """The paper's spec as is for the paper profile; scaled to the grid for the demo."""
    if profile == "paper":
        return paper.with_(seed=seed)
    return scaled_to_grid(paper, _grid_side(shape), seed=seed)


def _am_plans(profile: str) -> list[ScanPlan]:
    shape = _SHAPES[profile]["cylinder"]
    plans = []
    for i, (material, porosity, median) in enumerate(_CYLINDERS):
        pores = PorePopulation(porosity_percent=porosity, diameter_median_vox=median)
        build = partial(am_cylinder, shape=shape, material=material, seed=10 + i, pores=pores)
        spec = _spec_for(AM_CYLINDER_PAPER, profile, shape, seed=100 + i)
        plans.append(
            ScanPlan(
                f"cylinder-{i + 1}-{material}", "good", "cylinder", material, f"cylinder-{i + 1}", build, spec, shape
            )
        )
        clean = plans[-1].id
        plans += [
            ScanPlan(
                degraded_id(clean, k, f),
                "degraded",
                "cylinder",
                material,
                f"cylinder-{i + 1}",
                build,
                spec,
                shape,
                keep_every=k,
                exposure=f,
                source=clean,
            )
            for k, f in CALIBRATION_DEGRADATIONS
        ]
    plans += _selection_plans(profile)
    cube_shape = _SHAPES[profile]["cube"]
    build = partial(
        am_cube,
        shape=cube_shape,
        material="316L",
        seed=20,
        pores=PorePopulation(porosity_percent=2.0, diameter_median_vox=4.0),
    )
    spec = _spec_for(AM_CUBE_PAPER, profile, cube_shape, seed=200)
    plans.append(ScanPlan("cube-316L-challenging", "challenging", "cube", "316L", "cube", build, spec, cube_shape))
    return plans


def _selection_plans(profile: str) -> list[ScanPlan]:
    """`_SELECTION_PARTS`, each clean and at `SELECTION_DEGRADATIONS` (the copies name their scan)."""
    shape = _SHAPES[profile]["selection"]
    plans = []
    for part, builder, material, seed, porosity, median in _SELECTION_PARTS:
        pores = PorePopulation(porosity_percent=porosity, diameter_median_vox=median)
        build = partial(builder, shape=shape, material=material, seed=seed, pores=pores)
        spec = _spec_for(AM_CYLINDER_PAPER, profile, shape, seed=600 + seed)
        clean = f"{part}-{material}"
        plans.append(ScanPlan(clean, "selection", part, material, clean, build, spec, shape))
        plans += [
            ScanPlan(
                degraded_id(clean, k, f),
                "selection",
                part,
                material,
                clean,
                build,
                spec,
                shape,
                keep_every=k,
                exposure=f,
                source=clean,
            )
            for k, f in SELECTION_DEGRADATIONS
        ]
    return plans


def _cast_plans(profile: str) -> list[ScanPlan]:
    shape = _SHAPES[profile]["housing"]
    spec = _spec_for(CAST_PAPER, profile, shape, seed=300)
    # a multiple of 100 so every step of the series keeps evenly spaced angles over the turn
    spec = spec.with_(n_projections=max(100, round(spec.n_projections / 100) * 100))
    plans = [
        ScanPlan(
            f"housing-{i + 1}",
            "train",
            "housing",
            "AlSi7Mg",
            f"housing-{i + 1}",
            partial(cast_aluminium, shape=shape, seed=30 + i),
            spec,
            shape,
        )
        for i in range(2)
    ]
    steps = keep_every_for_counts(
        spec.n_projections, tuple(round(n * spec.n_projections / CAST_SERIES[0]) for n in CAST_SERIES)
    )
    for step, paper_count in zip(steps[1:], CAST_SERIES[1:]):
        plans.append(
            ScanPlan(
                f"housing-1-series-{paper_count}",
                "projection-series",
                "housing",
                "AlSi7Mg",
                "housing-1",
                plans[0].build_phantom,
                spec,
                shape,
                keep_every=step,
                source=plans[0].id,
            )
        )
    return plans


def _composite_plans(profile: str) -> list[ScanPlan]:
    shape = _SHAPES[profile]["composite"]
    spec = _spec_for(COMPOSITE_PAPER, profile, shape, seed=400)
    return [
        ScanPlan(
            f"composite-{i + 1}",
            "train",
            "composite",
            "PA66+E-glass",
            f"composite-{i + 1}",
            partial(composite, shape=shape, seed=40 + i),
            spec,
            shape,
            baseline="multi-otsu",
        )
        for i in range(2)
    ]


def _evaluation_plans(profile: str) -> list[ScanPlan]:
    """Parts no training sees (a tilted prism, a turned cube, a bushing with a bore and a threaded
    hole), other seeds, another scanner (`EVAL_SCANNER_PAPER`), each clean and at every point of
    the degradation grid. Role "evaluation"; the degraded copies name their clean scan."""
    shape = _SHAPES[profile]["evaluation"]
    pores = PorePopulation(porosity_percent=0.8, diameter_median_vox=3.0, diameter_sigma=0.5)
    plans = []
    for part, builder, material, seed in _EVALUATION_PARTS:
        build = partial(builder, shape=shape, material=material, seed=seed, pores=pores)
        spec = _spec_for(EVAL_SCANNER_PAPER, profile, shape, seed=500 + seed)
        clean = f"{part}-{material}"
        for k, f in EVALUATION_DEGRADATIONS:
            degraded = (k, f) != (1, 1.0)
            plans.append(
                ScanPlan(
                    degraded_id(clean, k, f) if degraded else clean,
                    "evaluation",
                    part,
                    material,
                    part,
                    build,
                    spec,
                    shape,
                    keep_every=k,
                    exposure=f,
                    source=clean if degraded else None,
                )
            )
    return plans


def _randomized_plans(profile: str, sampling: RandomizedConfig) -> list[ScanPlan]:
    """`porelab.simulate.datasets.randomized`: roles "train", and "validation" for the last
    `sampling.validation_scans`."""
    plans = []
    for draw in randomized_draws(sampling, profile):
        role = "validation" if draw.index >= sampling.scans - sampling.validation_scans else "train"
        drawn = {"part_options": draw.part_options, "side": draw.side, "pores": json_ready(asdict(draw.pores))}
        plans.append(
            ScanPlan(
                scan_id(draw),
                role,
                draw.part,
                draw.material,
                scan_id(draw),
                phantom_builder(draw),
                draw.spec,
                grid_shape(draw),
                drawn=drawn,
            )
        )
    return plans


_PLANNERS = {
    "am-cylinders": _am_plans,
    "am-eval": _evaluation_plans,
    "cast-aluminium": _cast_plans,
    "composite": _composite_plans,
}


def select_plans(plans: list[ScanPlan], scan_ids: Sequence[str] | None, preset: str) -> list[ScanPlan]:
    """The plans named by `scan_ids` (all of them for None); an id the preset lacks is an error."""
    if scan_ids is None:
        return plans
    known = [plan.id for plan in plans]
    unknown = [scan for scan in scan_ids if scan not in known]
    if unknown:
        raise ConfigError(f"--scans {unknown}: not scans of the {preset} preset; expected some of {known}")
    return [plan for plan in plans if plan.id in scan_ids]


def preset_plans(preset: str, profile: str, sampling: RandomizedConfig | None = None) -> list[ScanPlan]:
    """The scans of a 3D preset at `profile` (the `welds` preset has radiographs, no scans);
    `sampling` sets the ranges of `am-randomized` (default `RandomizedConfig()`)."""
    if profile not in PROFILES:
        raise ConfigError(f"--profile {profile!r}: expected one of {list(PROFILES)}")
    if preset == "am-randomized":
        return _randomized_plans(profile, sampling or RandomizedConfig())
    if sampling is not None:
        raise ConfigError(f"--sampling: only the am-randomized preset draws its scans; got --preset {preset}")
    if preset not in _PLANNERS:
        raise ConfigError(f"--preset {preset!r}: expected one of {list(PRESETS)}")
    return _PLANNERS[preset](profile)
