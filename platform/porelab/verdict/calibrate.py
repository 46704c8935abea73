"""Choosing a model's operating point on held-out scans with known pores.

Every candidate (grow threshold, seed threshold) is scored on every calibration scan: the
regions of part voxels at or above the grow threshold are labelled once per grow threshold,
and each seed threshold keeps the regions whose highest score reaches it, so the Dice, false
calls and hit/miss table of every seed follow from per-region counts without relabelling.
The minimum reported size of each candidate is at least its own POD a50 (MIL-HDBK-1823A
hit/miss fit over the pores of all calibration scans, `porelab.evaluate.fit_pod`): below it a
region is more likely noise than a found pore, and is listed as an indication. Regions lying
wholly within the guard about the rotation axis are indications here as in the verdict
(`porelab.verdict.axis`), so the figures are those the user will read.

The boundary refinement (`porelab.verdict.boundary`) is chosen next, at the picked thresholds:
each (radius, ISO fraction) of `_RADII` x `_ISOS` is scored on the scans; among those whose
mean Dice is within `_DICE_TOLERANCE` of the best, the largest radius wins, and at that radius
the best Dice. The radius only guards against growing through noise (the grey surface should
bound a pore), so a tie goes to the wider guard. The ISO fraction is fitted because ISO-50
draws small convex voids too small: blur lifts their edges and a voxel whose centre lies
inside a small sphere holds less than half of void.

Under the Dice objective the size guard is chosen last: the point is tried with the larger
minimum sizes of `_SIZE_GUARDS`, and the widest whose mean Dice stays within `_DICE_TOLERANCE`
of the point's wins, as the boundary radius does. The POD says what the model finds, not what
noise it calls: a fit can put a50 under one voxel, and then every speck of noise in a low-dose
scan is a pore (measured on the bundled detector fine-tuned in the cross-validation: its a50
of 0.82 voxels rose to a guard of 1.75 for 0.003 mean Dice, which left no false call on its
15 calibration scans and took its false calls on the am-eval prism from 1-3 to 0-2 a scan).

Objectives: "dice" takes the candidate with the highest mean Dice over the scans;
"false_calls" the one that finds the most pores (mean hit rate) with a mean false-call rate
at or under `max_false_calls_per_cm3`, falling back to the fewest false calls when none does.
Candidate thresholds are quantiles of the pooled in-part scores, so the same search works
for sigmoid probabilities and for reconstruction errors of any scale.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import ndimage

from porelab.errors import ConfigError
from porelab.evaluate.pod import fit_pod
from porelab.verdict.axis import AXIS_GUARD_VOX, axis_zone
from porelab.verdict.boundary import candidate_voxels
from porelab.verdict.operating_point import OBJECTIVES, OperatingPoint

_FACES = ndimage.generate_binary_structure(3, 1)
_TAILS = np.geomspace(1e-4, 0.25, 24)  # upper-tail fractions of in-part voxels the thresholds sit at
_EVEN_LEVELS = 16  # and evenly spaced scores between the outer quantiles
_MAX_GROW_RATIO = 16.0  # a grow threshold's tail holds at most this times the seed's
_RADII = (0, 1, 2, 3)  # boundary refinement radii tried (voxels)
_ISOS = (0.5, 0.6, 0.7)  # and ISO fractions
_SIZE_GUARDS = (1.5, 1.75, 2.0, 2.25, 2.5)  # minimum reported sizes tried above the point's a50 (voxels)
_DICE_TOLERANCE = 0.005
_FIGURES = ("dice", "worst_dice", "recall", "hit_rate", "false_calls_per_cm3", "pod_a50", "pod_a90")


@dataclass(frozen=True, eq=False)
class CalibrationScan:
    """One held-out scan: the model's score, the part found in it (and where pores are looked
    for, `PartSegmentation.inspected`), the truth, and the grey scan (without it the boundary
    refinement is not calibrated and stays off)."""

    id: str
    score: np.ndarray
    part: np.ndarray
    inspected: np.ndarray
    true_labels: np.ndarray
    true_sizes: pd.Series  # equivalent diameter (voxels) by pore id
    voxel_size: tuple[float, float, float]
    scan: np.ndarray | None = None


@dataclass(frozen=True)
class CalibrationConfig:
    """What the operating point is chosen for (see the module docstring)."""

    objective: str = "dice"
    max_false_calls_per_cm3: float = 1.0

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"calibration objective {self.objective!r}: expected one of {list(OBJECTIVES)}")
        if not self.max_false_calls_per_cm3 >= 0:
            raise ConfigError(f"max_false_calls_per_cm3={self.max_false_calls_per_cm3}: expected >= 0")


@dataclass(frozen=True)
class _Regions:
    """Per region of one (scan, grow threshold): size, equivalent diameter, highest score, true-pore
    voxels, whether it reaches beyond the guard about the rotation axis, and the (region, pore
    position in `_Truth`, shared voxels) pairs."""

    voxels: np.ndarray
    diameter: np.ndarray
    peak: np.ndarray
    overlap: np.ndarray
    beside_axis: np.ndarray
    pair_region: np.ndarray
    pair_pore: np.ndarray
    pair_voxels: np.ndarray


@dataclass(frozen=True)
class _Truth:
    """What every candidate's figures on one scan compare against, counted once per scan: the
    true pore voxels, the part's volume, and per pore of `true_sizes` (in its order) its
    equivalent diameter and half its voxels (the cover a hit needs)."""

    voxels: int
    part_cm3: float
    sizes: np.ndarray
    half_voxels: np.ndarray
    position: np.ndarray  # pore label -> its place in `sizes`, -1 for labels not in the table

    @classmethod
    def of(cls, scan: CalibrationScan) -> "_Truth":
        labels = scan.true_labels.ravel()
        ids = scan.true_sizes.index.to_numpy(np.int64)
        top = int(max(labels.max(initial=0), ids.max(initial=0)))
        position = np.full(top + 1, -1, np.int64)
        position[ids] = np.arange(ids.size)
        counts = np.bincount(labels, minlength=top + 1)
        part_cm3 = np.count_nonzero(scan.part) * float(np.prod(scan.voxel_size)) / 1000.0
        return cls(
            int(np.count_nonzero(labels)), part_cm3, scan.true_sizes.to_numpy(float), 0.5 * counts[ids], position
        )


def _candidates(scan: CalibrationScan, grow: float, radius: int = 0, iso: float = 0.5) -> np.ndarray:
    return candidate_voxels(scan.score, scan.inspected, grow, scan.scan, radius, iso)


def _regions(
    scan: CalibrationScan, truth: _Truth, candidates: np.ndarray, axis_guard: float = AXIS_GUARD_VOX
) -> _Regions:
    labels, count = ndimage.label(candidates, structure=_FACES)
    flat = labels.ravel()
    voxels = np.bincount(flat, minlength=count + 1)
    peak = np.full(count + 1, -np.inf)
    where = flat > 0
    np.maximum.at(peak, flat[where], scan.score.ravel()[where])
    pore = scan.true_labels.ravel()
    both = where & (pore > 0)
    pairs, shared = np.unique(np.stack([flat[both], pore[both]]), axis=1, return_counts=True)
    overlap = np.bincount(pairs[0], weights=shared, minlength=count + 1)
    rows, cols = labels.shape[1:]
    inside = np.flatnonzero(where)  # the zone is looked up for candidate voxels only
    outside_zone = ~axis_zone((rows, cols), axis_guard)[(inside // cols) % rows, inside % cols]
    beside_axis = np.zeros(count + 1, bool)
    beside_axis[flat[inside[outside_zone]]] = True
    known = truth.position[pairs[1]] >= 0
    return _Regions(
        voxels,
        np.cbrt(6.0 * voxels / np.pi),
        peak,
        overlap,
        beside_axis,
        pairs[0][known],
        truth.position[pairs[1][known]],
        shared[known],
    )


def candidate_thresholds(scans: Sequence[CalibrationScan]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct candidate scores (increasing) and the fraction of in-part voxels at or above each.

    The candidates are the `_TAILS` quantiles of the pooled in-part scores, which follow the
    pore fraction whatever the score's scale, and `_EVEN_LEVELS` scores evenly spaced between
    the outermost of them: a sigmoid saturates, so its pores' scores crowd near 1 where the
    quantiles alone leave wide gaps."""
    pooled = np.sort(np.concatenate([s.score[s.inspected].ravel() for s in scans]))
    if pooled.size == 0:
        raise ConfigError("calibration: the calibration scans hold no part voxel")
    quantiles = np.quantile(pooled, 1.0 - _TAILS)
    levels = np.unique(np.concatenate([quantiles, np.linspace(quantiles.min(), quantiles.max(), _EVEN_LEVELS)]))
    tails = 1.0 - np.searchsorted(pooled, levels, side="left") / pooled.size
    return levels, tails


def _scan_figures(truth: _Truth, regions: _Regions, seed: float, min_diameter: float | None) -> dict[str, Any]:
    kept = (regions.peak >= seed) & regions.beside_axis
    if min_diameter:
        kept &= regions.diameter >= min_diameter
    kept[0] = False
    called, hit_voxels = int(regions.voxels[kept].sum()), float(regions.overlap[kept].sum())
    total = called + truth.voxels
    dice = 1.0 if total == 0 else 2.0 * hit_voxels / total
    false_calls = int(np.count_nonzero(kept & (regions.overlap == 0)))
    covered = np.bincount(
        regions.pair_pore, weights=regions.pair_voxels * kept[regions.pair_region], minlength=truth.sizes.size
    )
    return {
        "dice": dice,
        "false_calls_per_cm3": false_calls / truth.part_cm3 if truth.part_cm3 else 0.0,
        "recall": hit_voxels / truth.voxels if truth.voxels else 1.0,
        "hit": covered >= truth.half_voxels,
        "sizes": truth.sizes,
    }


def _pod(figures: list[dict[str, Any]]) -> Any:
    return fit_pod(np.concatenate([f["sizes"] for f in figures]), np.concatenate([f["hit"] for f in figures]))


def _mean_figures(figures: list[dict[str, Any]]) -> dict[str, float]:
    """The figures over all scans (`_FIGURES`): means, the worst Dice, the pooled hit rate and POD."""
    hits, pod = np.concatenate([f["hit"] for f in figures]), _pod(figures)
    return {
        "dice": float(np.mean([f["dice"] for f in figures])),
        "worst_dice": float(np.min([f["dice"] for f in figures])),
        "recall": float(np.mean([f["recall"] for f in figures])),
        "hit_rate": float(hits.mean()) if hits.size else 1.0,
        "false_calls_per_cm3": float(np.mean([f["false_calls_per_cm3"] for f in figures])),
        "pod_a50": float(pod.a50),
        "pod_a90": float(pod.a90),
    }


def candidate_table(scans: Sequence[CalibrationScan]) -> pd.DataFrame:
    """Every (grow, seed) candidate with its POD-derived minimum size and mean figures."""
    if not scans:
        raise ConfigError("calibration: no calibration scan")
    levels, tails = candidate_thresholds(scans)
    truths = [_Truth.of(s) for s in scans]
    rows = []
    for g, grow in enumerate(levels):
        regions = [_regions(s, t, _candidates(s, grow)) for s, t in zip(scans, truths)]
        for k in range(g, len(levels)):
            seed = levels[k]
            if tails[g] > _MAX_GROW_RATIO * tails[k]:
                continue
            pod = _pod([_scan_figures(t, r, seed, None) for t, r in zip(truths, regions)])
            min_diameter = float(pod.a50) if pod.fitted and np.isfinite(pod.a50) and pod.a50 > 0 else 0.0
            figures = [_scan_figures(t, r, seed, min_diameter) for t, r in zip(truths, regions)]
            rows.append(
                {
                    "threshold": float(seed),
                    "low_threshold": float(grow),
                    "min_diameter_vox": min_diameter,
                    **_mean_figures(figures),
                }
            )
    return pd.DataFrame(rows)


def with_boundary(scans: Sequence[CalibrationScan], point: OperatingPoint) -> OperatingPoint:
    """`point` with the boundary radius chosen on `scans` (see the module docstring) and the
    figures it reaches there; unchanged when a scan lacks its grey values."""
    if any(s.scan is None for s in scans):
        return point
    figures = {}
    truths = [_Truth.of(s) for s in scans]
    for radius in _RADII:
        for iso in _ISOS if radius else (0.5,):
            per_scan = [
                _scan_figures(
                    t,
                    _regions(s, t, _candidates(s, point.grow_threshold, radius, iso), point.axis_guard_vox),
                    point.threshold,
                    point.min_diameter_vox,
                )
                for s, t in zip(scans, truths)
            ]
            figures[(radius, iso)] = _mean_figures(per_scan)
    best = max(f["dice"] for f in figures.values())
    radius = max(r for (r, _), f in figures.items() if f["dice"] >= best - _DICE_TOLERANCE)
    iso = max((i for r, i in figures if r == radius), key=lambda i: figures[(radius, i)]["dice"])
    how = (
        f"; pore boundaries grown to the local ISO-{100 * iso:.0f} grey surface within {radius} voxels"
        if radius
        else "; no boundary refinement (it did not raise the Dice there)"
    )
    return replace(
        point, boundary_radius_vox=radius, boundary_iso=iso, metrics=figures[(radius, iso)], source=point.source + how
    )


def with_size_guard(scans: Sequence[CalibrationScan], point: OperatingPoint) -> OperatingPoint:
    """`point` with the widest minimum reported size of `_SIZE_GUARDS` (above its own) whose mean
    Dice on `scans` stays within `_DICE_TOLERANCE` of the point's (see the module docstring)."""
    truths = [_Truth.of(s) for s in scans]
    regions = [
        _regions(
            s,
            t,
            _candidates(s, point.grow_threshold, point.boundary_radius_vox, point.boundary_iso),
            point.axis_guard_vox,
        )
        for s, t in zip(scans, truths)
    ]
    figures = {}
    for guard in (point.min_diameter_vox, *(g for g in _SIZE_GUARDS if g > point.min_diameter_vox)):
        figures[guard] = _mean_figures([_scan_figures(t, r, point.threshold, guard) for t, r in zip(truths, regions)])
    start = figures[point.min_diameter_vox]["dice"]
    guard = max(g for g, f in figures.items() if f["dice"] >= start - _DICE_TOLERANCE)
    if guard == point.min_diameter_vox:
        return point
    return replace(
        point,
        min_diameter_vox=guard,
        metrics=figures[guard],
        source=point.source + f"; regions under {guard:.3g} voxels are indications, the widest size guard "
        f"within {_DICE_TOLERANCE} of its Dice (the POD a50 there is {point.min_diameter_vox:.2g} voxels)",
    )


def pick(table: pd.DataFrame, config: CalibrationConfig, source: str) -> OperatingPoint:
    """The candidate `config` asks for, as an operating point that states its figures."""
    if table.empty:
        raise ConfigError("calibration: no candidate operating point")
    if config.objective == "dice":
        best = table.sort_values(["dice", "false_calls_per_cm3"], ascending=[False, True]).iloc[0]
        why = "the highest mean Dice"
    else:
        within = table[table.false_calls_per_cm3 <= config.max_false_calls_per_cm3]
        if within.empty:
            best = table.sort_values(["false_calls_per_cm3", "hit_rate"], ascending=[True, False]).iloc[0]
            why = f"the fewest false calls (none reached {config.max_false_calls_per_cm3:g} per cm^3 or fewer)"
        else:
            best = within.sort_values(["hit_rate", "dice"], ascending=False).iloc[0]
            why = f"the most pores found with at most {config.max_false_calls_per_cm3:g} false calls per cm^3"
    metrics = {k: float(best[k]) for k in _FIGURES}
    return OperatingPoint(
        threshold=float(best.threshold),
        low_threshold=float(best.low_threshold),
        min_diameter_vox=float(best.min_diameter_vox),
        objective=config.objective,
        source=f"{why} on {source}",
        metrics=metrics,
    )


def calibrate(
    scans: Sequence[CalibrationScan], config: CalibrationConfig = CalibrationConfig(), source: str | None = None
) -> tuple[OperatingPoint, pd.DataFrame]:
    """The operating point for `config` and the table of every candidate it was chosen from."""
    table = candidate_table(scans)
    names = source or f"{len(scans)} held-out scans ({', '.join(s.id for s in scans)})"
    point = with_boundary(scans, pick(table, config, names))
    return (with_size_guard(scans, point) if config.objective == "dice" else point), table
