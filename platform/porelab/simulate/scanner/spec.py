"""`ScanSpec`: everything that describes one CT acquisition, and the papers' presets."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from porelab.errors import ConfigError
from porelab.simulate.materials import BIN_ENERGIES_KEV, tungsten_spectrum

GEOMETRIES = ("parallel", "fan", "cone")
DEVICES = ("auto", "cpu", "gpu")


def _default_weights() -> tuple[float, ...]:
    return tuple(float(w) for w in tungsten_spectrum())


@dataclass(frozen=True)
class ScanSpec:
    """One CT acquisition.

    Distances are in mm. `detector_cols=None` fits the detector to the phantom's diagonal;
    `detector_pixel_mm=None` makes one detector pixel one voxel at the rotation axis (pixel =
    voxel x magnification). `exposure` is the unattenuated photon count per detector pixel and
    projection. `gain_spread` is the relative standard deviation of the per-column gain that
    the flat-field correction does not remove (it drifted after the flats were taken): it
    makes rings. `scatter_fraction` adds that fraction of the detector row's mean primary
    signal. `blur_px` is the Gaussian sigma (detector pixels) of focal spot plus detector.
    `dark_offset` is the electronic offset (counts) the darks record.
    """

    name: str = "custom"
    geometry: str = "parallel"
    n_projections: int = 180
    angular_range_deg: float | None = None  # None: 180 for parallel, 360 for fan/cone
    source_object_mm: float = 43.33
    source_detector_mm: float = 650.0
    detector_cols: int | None = None
    detector_pixel_mm: float | None = None
    exposure: float = 20000.0
    energies_kev: tuple[float, ...] = BIN_ENERGIES_KEV
    spectrum_weights: tuple[float, ...] = field(default_factory=_default_weights)
    gain_spread: float = 0.0
    scatter_fraction: float = 0.0
    blur_px: float = 0.0
    dark_offset: float = 100.0
    n_flats: int = 10
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        _check_choice(self.geometry, GEOMETRIES, "geometry")
        _check_choice(self.device, DEVICES, "device")
        _check_positive(self, ("n_projections", "exposure", "source_object_mm", "n_flats"))
        _check_non_negative(self, ("gain_spread", "scatter_fraction", "blur_px", "dark_offset"))
        if self.source_detector_mm < self.source_object_mm:
            raise ConfigError(
                f"ScanSpec.source_detector_mm={self.source_detector_mm}: expected >= "
                f"source_object_mm={self.source_object_mm}"
            )
        if len(self.spectrum_weights) != len(self.energies_kev):
            raise ConfigError(
                f"ScanSpec.spectrum_weights: expected {len(self.energies_kev)} weights "
                f"(one per energy bin), got {len(self.spectrum_weights)}"
            )
        if self.detector_cols is not None and self.detector_cols < 2:
            raise ConfigError(f"ScanSpec.detector_cols={self.detector_cols}: expected >= 2 or None")

    @property
    def magnification(self) -> float:
        """Source-detector over source-object distance (1 for parallel beam)."""
        if self.geometry == "parallel":
            return 1.0
        return self.source_detector_mm / self.source_object_mm

    @property
    def angular_range(self) -> float:
        """Rotation covered by the projections, in radians."""
        default = 180.0 if self.geometry == "parallel" else 360.0
        return math.radians(self.angular_range_deg if self.angular_range_deg is not None else default)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (manifests, metadata)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "ScanSpec":
        """Inverse of `to_dict` (tuples come back from JSON as lists)."""
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"ScanSpec: unknown fields {sorted(unknown)}")
        fixed = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
        return cls(**fixed)

    def with_(self, **changes: Any) -> "ScanSpec":
        """A copy with some fields changed."""
        return replace(self, **changes)


def _check_choice(value: str, choices: tuple[str, ...], name: str) -> None:
    if value not in choices:
        raise ConfigError(f"ScanSpec.{name}={value!r}: expected one of {list(choices)}")


def _check_positive(spec: ScanSpec, names: tuple[str, ...]) -> None:
    for name in names:
        if not getattr(spec, name) > 0:
            raise ConfigError(f"ScanSpec.{name}={getattr(spec, name)}: expected > 0")


def _check_non_negative(spec: ScanSpec, names: tuple[str, ...]) -> None:
    for name in names:
        if not getattr(spec, name) >= 0:
            raise ConfigError(f"ScanSpec.{name}={getattr(spec, name)}: expected >= 0")


# The papers' acquisitions (Iuso et al.): cone beam, 0.2 mm detector pixels at magnification 15.
# The good setting uses a hard, filtered beam (little beam hardening); the challenging cube a
# soft unfiltered one, fewer photons, rings and scatter.
AM_CYLINDER_PAPER = ScanSpec(
    name="am-cylinder-good",
    geometry="cone",
    n_projections=4283,
    source_object_mm=43.33,
    source_detector_mm=650.0,
    exposure=20000.0,
    spectrum_weights=tuple(float(w) for w in tungsten_spectrum(tube_kv=220.0, copper_filter_mm=2.0)),
    gain_spread=0.002,
    scatter_fraction=0.01,
    blur_px=0.5,
    seed=0,
)
AM_CUBE_PAPER = ScanSpec(
    name="am-cube-challenging",
    geometry="cone",
    n_projections=2878,
    source_object_mm=63.33,
    source_detector_mm=950.0,
    exposure=3000.0,
    spectrum_weights=tuple(float(w) for w in tungsten_spectrum(tube_kv=160.0, copper_filter_mm=0.0)),
    gain_spread=0.01,
    scatter_fraction=0.08,
    blur_px=1.0,
    seed=0,
)
# Fuchs et al.: the cast housing, 3300 projections (their full series start). Distances,
# dose and grid are ours (an industrial cone-beam set-up for a 36 mm aluminium part).
CAST_PAPER = ScanSpec(
    name="cast-housing",
    geometry="cone",
    n_projections=3300,
    source_object_mm=200.0,
    source_detector_mm=1000.0,
    exposure=20000.0,
    spectrum_weights=tuple(float(w) for w in tungsten_spectrum(tube_kv=160.0, copper_filter_mm=0.5)),
    gain_spread=0.002,
    scatter_fraction=0.02,
    blur_px=0.5,
    seed=0,
)
# A synchrotron-like scan of the composite block (Bertoldo et al. segment micro-CT of PA66 with
# glass fibres): parallel beam, one (the lowest) energy bin, slight rings. The block is only
# ~0.15 mm across at 1.6 um voxels and we simulate absorption only (no phase contrast), so
# PA66 against pore needs the dose of many averaged frames (1e8 photons per pixel) to reach a
# contrast-to-noise ratio of a few; counts and ring level are ours.
COMPOSITE_PAPER = ScanSpec(
    name="composite-parallel",
    geometry="parallel",
    n_projections=1800,
    exposure=1e8,
    spectrum_weights=(1.0, 0.0, 0.0, 0.0, 0.0),
    gain_spread=1e-5,
    blur_px=0.5,
    dark_offset=0.0,
    seed=0,
)
# The evaluation preset's scanner: another make and set-up than the training scans' (harder
# beam, its own distances, blur, rings and scatter), so an evaluation also tests a change of
# scanner. Ours, not a paper's.
EVAL_SCANNER_PAPER = ScanSpec(
    name="am-eval-scanner",
    geometry="cone",
    n_projections=3000,
    source_object_mm=55.0,
    source_detector_mm=800.0,
    exposure=15000.0,
    spectrum_weights=tuple(float(w) for w in tungsten_spectrum(tube_kv=190.0, copper_filter_mm=1.0)),
    gain_spread=0.004,
    scatter_fraction=0.03,
    blur_px=0.8,
    seed=0,
)
#: Grid side (voxels across the part) the paper projection counts belong to: a 5 mm cylinder
#: and a 9 mm cube at the papers' 13.3 um voxels (0.2 mm pixel / magnification 15); the
#: housing and composite at the paper profile's grids.
PAPER_GRID_SIDE = {
    "am-cylinder-good": 375,
    "am-cube-challenging": 675,
    "cast-housing": 230,
    "composite-parallel": 461,
    "am-eval-scanner": 360,
}


def scaled_to_grid(spec: ScanSpec, grid_side: int, seed: int | None = None) -> ScanSpec:
    """The preset with its projection count scaled from the paper's grid to `grid_side` voxels.

    Keeps the projections-per-voxel ratio, so a smaller grid keeps the good/challenging contrast.
    """
    if spec.name not in PAPER_GRID_SIDE:
        raise ConfigError(
            f"scaled_to_grid: spec {spec.name!r} has no paper grid; expected one of {sorted(PAPER_GRID_SIDE)}"
        )
    paper_side = PAPER_GRID_SIDE[spec.name]
    n = max(8, round(spec.n_projections * grid_side / paper_side))
    return replace(spec, n_projections=n, seed=spec.seed if seed is None else seed)
