"""Robustness to worse scans (Iuso et al. §4.5, Fuchs et al. Figs. 4-5): the served model and the
Otsu baseline on a scan re-simulated with fewer projections and less exposure.

The scan's phantom is rebuilt and simulated once at full dose; every point of the grid thins
those projections (`degrade`: every k-th projection, binomial photon thinning, which is exact
Poisson statistics at the lower dose), is reconstructed and scored in its own Ray task.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from porelab.assess import ScanTruth
from porelab.errors import ConfigError
from porelab.registry import find_model
from porelab.runtime import ensure_ray
from porelab.simulate.phantoms import Phantom
from porelab.simulate.scanner import Executor, ScanSpec, simulate
from porelab.sweep.degrade.grid import DegradationPoint, GridSpec, degradation_points
from porelab.sweep.degrade.outputs import METRIC_NAMES, write_degradation_outputs
from porelab.sweep.degrade.point import PointTarget, score_point
from porelab.sweep.degrade.scan_source import rebuilt_scan, scan_truth
from porelab.sweep.run_dir import start_run
from porelab.volume import Projections

TABLE_COLUMNS = ("series", "projections", "n_projections", "exposure", "model", "metric", "value")
Report = Callable[[str], None]
Scores = dict[tuple[int, float], dict[str, dict[str, float]]]


@dataclass(frozen=True)
class DegradeConfig:
    """Which model, which scan, which grid; `task_cpus` sizes each point's Ray task."""

    registry: str = "runs/registry"
    data: str = "data/am"
    out: str = "runs/degrade-demo"
    model: str | None = None  # registry folder; None: the model jobs/cv.py selected last
    scan: str | None = None  # dataset scan id; None: the challenging scan
    grid: GridSpec = field(default_factory=GridSpec)
    report_metric: str = "dice"
    task_cpus: float = 1.0
    use_ray: bool = True

    def __post_init__(self) -> None:
        if not self.task_cpus > 0:
            raise ConfigError(f"DegradeConfig.task_cpus={self.task_cpus}: expected > 0")
        if self.report_metric not in METRIC_NAMES:
            raise ConfigError(
                f"DegradeConfig.report_metric={self.report_metric!r}: expected one of {list(METRIC_NAMES)}"
            )


def simulate_full(phantom: Phantom, spec: ScanSpec, use_ray: bool) -> Projections:
    """The full-dose scan every point is thinned from (slices fanned out over Ray when asked)."""
    return simulate(phantom, spec, Executor(kind="ray" if use_ray else "local"))


def _score_local(
    full: Projections, truth: ScanTruth, settings: list[DegradationPoint], target: PointTarget, report: Report
) -> Scores:
    scores: Scores = {}
    for point in settings:
        scores[point.setting] = score_point(full, truth, point, target)
        report(f"{point.name}: scored ({len(scores)}/{len(settings)})")
    return scores


def _score_on_ray(
    full: Projections,
    truth: ScanTruth,
    settings: list[DegradationPoint],
    target: PointTarget,
    task_cpus: float,
    report: Report,
) -> Scores:
    import ray

    task = ray.remote(score_point).options(num_cpus=task_cpus)
    full_ref, truth_ref = ray.put(full), ray.put(truth)
    pending = {task.remote(full_ref, truth_ref, point, target): point for point in settings}
    scores: Scores = {}
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        point = pending.pop(ready[0])
        scores[point.setting] = ray.get(ready[0])
        report(f"{point.name}: scored ({len(scores)}/{len(settings)})")
    return scores


def _rows(points: list[DegradationPoint], scores: Scores) -> pd.DataFrame:
    rows = [
        {
            "series": p.series,
            "projections": p.projections,
            "n_projections": p.n_projections,
            "exposure": p.exposure_percent,
            "model": model,
            "metric": metric,
            "value": value,
        }
        for p in points
        for model, metrics in scores[p.setting].items()
        for metric, value in metrics.items()
    ]
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS)).astype({"n_projections": int, "value": float})


def degradation_table(
    full: Projections,
    truth: ScanTruth,
    points: list[DegradationPoint],
    target: PointTarget,
    *,
    use_ray: bool = True,
    task_cpus: float = 1.0,
    report: Report = lambda message: None,
) -> pd.DataFrame:
    """One row per point, model (and baseline) and metric; a setting two series share is scored once."""
    settings = list({p.setting: p for p in points}.values())
    scores = (
        _score_on_ray(full, truth, settings, target, task_cpus, report)
        if use_ray
        else _score_local(full, truth, settings, target, report)
    )
    return _rows(points, scores)


def run_degradation(config: DegradeConfig, report: Report = lambda message: None) -> dict[str, Any]:
    """Rebuild, simulate, degrade, score; write degradation.parquet, report.html and summary.json."""
    model = find_model(config.registry, config.model)
    scan = rebuilt_scan(config.data, config.scan)
    out = start_run(config.out, config)
    if config.use_ray:
        ensure_ray()
    start = time.perf_counter()
    report(f"{scan.id}: simulating {scan.spec.n_projections} projections at full dose")
    full = simulate_full(scan.phantom, scan.spec, config.use_ray)
    points = degradation_points(config.grid, len(full.angles))
    target = PointTarget(
        model.name,
        str(model.checkpoint.resolve()),
        str((out / "scans").resolve()),
        tuple(float(v) for v in scan.phantom.voxel_size),
        scan.spec.seed,
    )
    table = degradation_table(
        full,
        scan_truth(scan.phantom),
        points,
        target,
        use_ray=config.use_ray,
        task_cpus=config.task_cpus,
        report=report,
    )
    return write_degradation_outputs(
        config,
        table,
        {"model": model.name, "checkpoint": str(model.checkpoint), "scan": scan.id},
        time.perf_counter() - start,
    )
