"""The settings a degradation sweep re-simulates a scan at.

Iuso et al. (§4.5) keep 100 / 50 / 33 % of the projections (every 1st, 2nd, 3rd) at 100 /
75 / 50 / 25 % of the exposure; Fuchs et al. drop the projections of a full-dose scan from
3300 to 330 to 33 (here scaled to the scan's own projection count).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from porelab.errors import ConfigError
from porelab.simulate.datasets.presets import CAST_SERIES
from porelab.simulate.scanner import PAPER_EXPOSURES, PAPER_PROJECTION_STEPS, keep_every_for_counts

GRID, SERIES = "grid", "fuchs"
QUICK_PROJECTION_STEPS = (1, 2)
QUICK_EXPOSURES = (1.0, 0.5)


@dataclass(frozen=True)
class DegradationPoint:
    """One degraded scan: every `keep_every`-th projection at `exposure` (a fraction of the dose).

    `projections` and `exposure_percent` are the nominal percentages the tables show (33 for
    every third projection); `n_projections` is the count actually reconstructed.
    """

    series: str
    keep_every: int
    exposure: float
    projections: float
    n_projections: int

    @property
    def exposure_percent(self) -> float:
        return round(100.0 * self.exposure, 1)

    @property
    def setting(self) -> tuple[int, float]:
        """What the scan is simulated with; points of two series may share one."""
        return self.keep_every, self.exposure

    @property
    def name(self) -> str:
        return f"p{self.keep_every}-e{round(100 * self.exposure)}"


@dataclass(frozen=True)
class GridSpec:
    """Projection steps x exposures, plus Fuchs et al.'s projection series (empty: none)."""

    keep_every: tuple[int, ...] = PAPER_PROJECTION_STEPS
    exposures: tuple[float, ...] = PAPER_EXPOSURES
    series_counts: tuple[int, ...] = CAST_SERIES

    def __post_init__(self) -> None:
        if not self.keep_every or any(int(k) != k or k < 1 for k in self.keep_every):
            raise ConfigError(f"GridSpec.keep_every={self.keep_every}: expected integers >= 1")
        if not self.exposures or any(not 0.0 < f <= 1.0 for f in self.exposures):
            raise ConfigError(f"GridSpec.exposures={self.exposures}: expected fractions in (0, 1]")
        if self.series_counts and (
            any(c < 1 for c in self.series_counts)
            or list(self.series_counts) != sorted(self.series_counts, reverse=True)
        ):
            raise ConfigError(
                f"GridSpec.series_counts={self.series_counts}: expected decreasing counts >= 1, "
                "the first being the full scan"
            )


QUICK_GRID = GridSpec(QUICK_PROJECTION_STEPS, QUICK_EXPOSURES, ())


def _kept(n_projections: int, keep_every: int) -> int:
    return math.ceil(n_projections / keep_every)


def grid_points(spec: GridSpec, n_projections: int) -> list[DegradationPoint]:
    """Every (projection step, exposure) of the grid, full quality first."""
    return [
        DegradationPoint(GRID, k, f, float(round(100 / k)), _kept(n_projections, k))
        for k in sorted(spec.keep_every)
        for f in sorted(spec.exposures, reverse=True)
    ]


def series_points(spec: GridSpec, n_projections: int) -> list[DegradationPoint]:
    """Fuchs et al.'s series at full exposure, its counts scaled from the first to `n_projections`."""
    if not spec.series_counts:
        return []
    full = spec.series_counts[0]
    targets = tuple(max(1, round(c * n_projections / full)) for c in spec.series_counts)
    steps = keep_every_for_counts(n_projections, targets)
    return [
        DegradationPoint(SERIES, k, 1.0, round(100 * c / full, 1), _kept(n_projections, k))
        for k, c in zip(steps, spec.series_counts)
    ]


def degradation_points(spec: GridSpec, n_projections: int) -> list[DegradationPoint]:
    """The grid, then the series; the scan has `n_projections` at full quality."""
    if n_projections < 1:
        raise ConfigError(f"degradation_points: n_projections={n_projections}; expected >= 1")
    return grid_points(spec, n_projections) + series_points(spec, n_projections)
