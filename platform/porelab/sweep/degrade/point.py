"""One point of a degradation sweep: degrade the full-dose projections, reconstruct, score.

The served model is scored exactly as in cross-validation and `porelab evaluate`
(`porelab.assess`: its served score at its stored operating point, inside the part found in the
degraded scan), the Otsu baseline on the same footing (its mask, inside the same part). The
degraded reconstruction is kept as `.npy` beside the results, so a point's scan can be opened
afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from porelab import volume
from porelab.assess import (
    BASELINE,
    Evaluation,
    EvaluationScan,
    ScanTruth,
    ScoringModel,
    baseline_metrics,
    point_for,
    scan_metrics,
)
from porelab.simulate.scanner import Executor, degrade, reconstruct
from porelab.sweep.degrade.grid import DegradationPoint
from porelab.sweep.trial import POSTPROCESSED
from porelab.volume import Projections


@dataclass(frozen=True)
class PointTarget:
    """What every point is scored with and where its scan goes (plain values: Ray ships it)."""

    model: str
    checkpoint: str
    scans_dir: str
    voxel_size: tuple[float, float, float]
    seed: int = 0


def degraded_scan(full: Projections, point: DegradationPoint, seed: int) -> np.ndarray:
    """The reconstruction (float32, z y x) of `full` thinned to `point`."""
    projections = degrade(full, point.keep_every, point.exposure, seed=seed)
    return np.asarray(reconstruct(projections, executor=Executor(kind="local")).data, np.float32)


def _evaluations(scan: EvaluationScan, target: PointTarget) -> dict[str, Evaluation]:
    """The served model (its name, " (post-processed)" for anomaly models) and the baseline."""
    model = ScoringModel.load(target.checkpoint)
    score = model.score_maps(scan.volume, scan.normaliser)[model.served_variant]
    name = target.model + (POSTPROCESSED if model.anomaly else "")
    return {
        name: scan_metrics(score, scan.truth, scan.part, point_for(model, score), scan.voxel_size, scan=scan.volume),
        BASELINE: baseline_metrics(scan.volume, scan.truth, scan.part, scan.voxel_size),
    }


def score_point(
    full: Projections, truth: ScanTruth, point: DegradationPoint, target: PointTarget
) -> dict[str, dict[str, float]]:
    """{model or baseline name: metrics} of the scan degraded to `point`."""
    scan = degraded_scan(full, point, target.seed)
    path = Path(target.scans_dir) / f"{point.name}.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    volume.write(scan, path, voxel_size=target.voxel_size, overwrite=True)
    # Normalised and its part found per volume like every dataset scan: a darker, noisier scan
    # gets its own scale and its own surface.
    evaluated = EvaluationScan.of_array(path.stem, "degraded", scan, truth, target.voxel_size)
    return {name: evaluation.metrics for name, evaluation in _evaluations(evaluated, target).items()}
