"""One point of a degradation sweep: degrade the full-dose projections, reconstruct, score.

The model is scored exactly as in cross-validation (`evaluate_checkpoint`: raw, and
post-processed for anomaly models), the Otsu baseline on the same footing (its mask as a
0/1 score). The degraded reconstruction is kept as `.npy` beside the results, so a point's
scan can be opened afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from porelab.sweep.degrade_grid import DegradationPoint
from porelab.sweep.evaluation import FIXED_THRESHOLD, Evaluation, ScanTruth, score_metrics
from porelab.sweep.trial import POSTPROCESSED
from porelab.volume import Projections

BASELINE = "otsu"


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
    from porelab.simulate.scanner import Executor, degrade, reconstruct

    projections = degrade(full, point.keep_every, point.exposure, seed=seed)
    return np.asarray(reconstruct(projections, executor=Executor(kind="local")).data, np.float32)


def otsu_evaluation(scan: np.ndarray, truth: ScanTruth, voxel_size: tuple[float, float, float]) -> Evaluation:
    """Iuso et al.'s filter baseline; a scan it finds no part in counts as no pores found."""
    from porelab.errors import VolumeError
    from porelab.label import otsu_pores

    try:
        mask = otsu_pores(scan).pore_mask
    except VolumeError:
        mask = np.zeros(scan.shape, bool)
    return score_metrics(mask.astype(np.float32), truth, voxel_size, FIXED_THRESHOLD)


def _model_evaluations(path: Path, scan: np.ndarray, truth: ScanTruth, target: PointTarget
                       ) -> dict[str, Evaluation]:
    from porelab.data import ScanRecord, fit_normaliser
    from porelab.sweep.evaluation import evaluate_checkpoint

    # Normalised per volume like every dataset scan: a darker, noisier scan gets its own scale.
    record = ScanRecord(path.stem, "degraded", str(path), "", tuple(scan.shape), fit_normaliser(scan),
                        target.voxel_size)
    results = evaluate_checkpoint(Path(target.checkpoint), record, truth)
    return {target.model + (POSTPROCESSED if variant == "postprocessed" else ""): evaluation
            for variant, evaluation in results.items()}


def score_point(full: Projections, truth: ScanTruth, point: DegradationPoint, target: PointTarget
                ) -> dict[str, dict[str, float]]:
    """{model or baseline name: metrics} of the scan degraded to `point`."""
    from porelab import volume

    scan = degraded_scan(full, point, target.seed)
    path = Path(target.scans_dir) / f"{point.name}.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    volume.write(scan, path, voxel_size=target.voxel_size, overwrite=True)
    evaluations = _model_evaluations(path, scan, truth, target)
    evaluations[BASELINE] = otsu_evaluation(scan, truth, target.voxel_size)
    return {name: evaluation.metrics for name, evaluation in evaluations.items()}
