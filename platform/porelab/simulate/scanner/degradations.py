"""Degraded copies of a scan: fewer projections and less exposure.

Fewer projections keep every k-th one (the papers' 100/50/33 %: k = 1, 2, 3; Fuchs et al.'s
3300 -> 33 series: `keep_every_for_counts`). Less exposure thins the recorded photons: if
counts ~ Poisson(lam), keeping each photon with probability f gives Binomial(counts, f) ~
Poisson(f lam) exactly, so one simulation at full dose yields every lower dose with correct
Poisson statistics. Flats are thinned alike; the dark offset is not photons and stays.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from porelab.errors import ConfigError
from porelab.simulate.scanner.acquire import simulate
from porelab.simulate.scanner.projector import PhantomLike
from porelab.simulate.scanner.slabs import Executor
from porelab.simulate.scanner.spec import ScanSpec
from porelab.volume import Projections

PAPER_PROJECTION_STEPS = (1, 2, 3)
PAPER_EXPOSURES = (1.0, 0.75, 0.5, 0.25)


def _thin(frames: np.ndarray, fraction: float, offset: float, rng: np.random.Generator) -> np.ndarray:
    photons = np.maximum(np.rint(frames - offset), 0).astype(np.int64)
    return (rng.binomial(photons, fraction) + offset).astype(np.float32)


def _thin_rows(frames: np.ndarray, fraction: float, offset: float, key: list[int], first_row: int) -> np.ndarray:
    """`_thin` with one stream per detector row (frames, rows, cols): slab-invariant."""
    out = np.empty(frames.shape, np.float32)
    for row in range(frames.shape[1]):
        out[:, row] = _thin(frames[:, row], fraction, offset, np.random.default_rng([*key, first_row + row]))
    return out


def _dark_offset(projections: Projections) -> float:
    return 0.0 if projections.darks is None else float(np.mean(projections.darks))


def degrade(
    projections: Projections, keep_every: int = 1, exposure: float = 1.0, seed: int = 0, first_row: int | None = None
) -> Projections:
    """Every `keep_every`-th projection, at `exposure` (fraction of the recorded dose).

    With `first_row` (the first detector row of `projections` in the whole scan), each row
    is thinned with its own random stream, as `record_counts` draws them for streamed scans.
    """
    if keep_every < 1:
        raise ConfigError(f"degrade: keep_every={keep_every}; expected an integer >= 1")
    if not 0.0 < exposure <= 1.0:
        raise ConfigError(f"degrade: exposure={exposure}; expected a fraction in (0, 1]")
    counts, flats = projections.counts[::keep_every], projections.flats
    key = [seed, keep_every, round(exposure * 1e6)]
    if exposure < 1.0 and first_row is not None:
        offset = _dark_offset(projections)
        counts = _thin_rows(counts, exposure, offset, [*key, 0], first_row)
        flats = None if flats is None else _thin_rows(flats, exposure, offset, [*key, 1], first_row)
    elif exposure < 1.0:
        rng, offset = np.random.default_rng(key), _dark_offset(projections)
        counts = _thin(counts, exposure, offset, rng)
        flats = None if flats is None else _thin(flats, exposure, offset, rng)
    meta = {**projections.metadata, "degradation": {"keep_every": keep_every, "exposure": exposure}}
    return replace(projections, counts=counts, flats=flats, angles=projections.angles[::keep_every], metadata=meta)


def keep_every_for_counts(n_projections: int, targets: tuple[int, ...]) -> tuple[int, ...]:
    """Steps k so that n/k approximates each target count (e.g. 3300 -> 1650, 330, 33)."""
    return tuple(max(1, round(n_projections / t)) for t in targets)


def degradation_grid(
    phantom: PhantomLike,
    spec: ScanSpec,
    keep_every: tuple[int, ...] = PAPER_PROJECTION_STEPS,
    exposures: tuple[float, ...] = PAPER_EXPOSURES,
    executor: Executor = Executor(),
) -> dict[tuple[int, float], Projections]:
    """Every (keep_every, exposure) combination from one full-dose simulation of `phantom`."""
    full = simulate(phantom, spec, executor)
    return {(k, f): degrade(full, k, f, seed=spec.seed) for k in keep_every for f in exposures}
