"""A score map scored against the truth of its scan: the verdict the user would read, and the
diagnostics behind it.

The verdict (`porelab.verdict.decide` at the model's operating point, within the part found
in the scan): Dice, IoU, precision and recall of the reported pores' voxels; false calls
(reported pores that touch no true pore) in all, per cm^3 and per 128^3 voxels of part; POD
a50/a90/a90_95 of the reported pores (NaN where the hit/miss fit is not identifiable: every
pore found, none found, or one size separating misses from hits; `pores_found_percent` says
which);
porosity reported and true and their difference in percentage points; reported pore voxels
outside the true part; the part volume's error.

Diagnostics, threshold-free or at the threshold best for this very scan (never a claim):
voxel AP and ROC AUC inside the true part, the best Dice and its threshold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from porelab.assess.truth import ScanTruth
from porelab.errors import VolumeError
from porelab.evaluate import PODConfig, ScoreHistogram, probability_of_detection
from porelab.evaluate.detection import false_calls
from porelab.label import otsu_pores
from porelab.verdict import OperatingPoint, PartSegmentation, class_mask

#: The metrics the report's headline table shows (results.parquet keeps every one).
HEADLINE_METRICS = ("ap", "dice", "dice_best", "false_calls_per_128c", "porosity_error_pp", "pod_a90")
_BLOCK_VOXELS = 128**3


@dataclass(frozen=True)
class Evaluation:
    """Metrics of one score map plus the curves the report draws (plain lists, JSON-ready)."""

    metrics: dict[str, float]
    curves: dict[str, Any]


def _histogram(score: np.ndarray, truth: ScanTruth) -> ScoreHistogram:
    inside = truth.inside
    low, high = float(score[inside].min()), float(score[inside].max())
    histogram = ScoreHistogram(low, high if high > low else low + 1.0, bins=4096)
    histogram.add(score, truth.labels > 0, mask=inside)
    return histogram


def _curves(histogram: ScoreHistogram, pod: Any) -> dict[str, Any]:
    pr, roc = histogram.pr_curve(100), histogram.roc_curve(100)
    curves: dict[str, Any] = {
        "pr": {"recall": pr.x.tolist(), "precision": pr.y.tolist()},
        "roc": {"fpr": roc.x.tolist(), "tpr": roc.y.tolist()},
    }
    if pod.fitted:
        table = pod.curve(50, size_range=(1.0, 20.0))
        curves["pod"] = {
            "diameter": table["size"].tolist(),
            "pod": table["pod"].tolist(),
            "ci_low": table["pod_lower"].tolist(),
            "ci_high": table["pod_upper"].tolist(),
        }
    return curves


def verdict_metrics(
    score: np.ndarray,
    truth: ScanTruth,
    part: PartSegmentation,
    operating_point: OperatingPoint,
    voxel_size: tuple[float, float, float],
    *,
    scan: np.ndarray | None = None,
) -> tuple[dict[str, float], Any, np.ndarray]:
    """(metrics of the verdict at `operating_point`, its POD result, the class mask); `scan`, the
    grey volume, is needed when the point refines boundaries."""
    mask, verdict = class_mask(score, part, operating_point, voxel_size, scan=scan)
    reported, true = mask > 0, truth.labels > 0
    tp, called, positives = (
        int(np.count_nonzero(reported & true)),
        int(np.count_nonzero(reported)),
        int(np.count_nonzero(true)),
    )
    pod = probability_of_detection(reported, truth.labels, truth.pores, voxel_size, part.part, PODConfig())
    calls = false_calls(reported, truth.labels)
    part_voxels = max(part.part_voxels, 1)
    true_part = int(np.count_nonzero(truth.inside))
    summary = verdict.summary()
    metrics = {
        "dice": 1.0 if called + positives == 0 else 2.0 * tp / (called + positives),
        "iou": 1.0 if called + positives - tp == 0 else tp / (called + positives - tp),
        "precision": 1.0 if called == 0 else tp / called,
        "recall": tp / positives if positives else float("nan"),
        "false_calls": float(calls),
        "false_calls_per_cm3": calls / (part_voxels * float(np.prod(voxel_size)) / 1000.0),
        "false_calls_per_128c": calls * _BLOCK_VOXELS / part_voxels,
        # inf: the POD does not reach that level within the pore sizes tested ("not reached")
        "pod_a50": pod.within_tested(pod.a50),
        "pod_a90": pod.within_tested(pod.a90),
        "pod_a90_95": pod.within_tested(pod.a90_95),
        "pores_found_percent": 100.0 * pod.n_hits / pod.n_pores if pod.n_pores else float("nan"),
        "porosity_reported": summary["porosity_percent"],
        "porosity_true": truth.porosity_percent,
        "porosity_error_pp": summary["porosity_percent"] - truth.porosity_percent,
        "pore_voxels_outside_part": float(np.count_nonzero(reported & ~truth.inside)),
        "part_volume_error_percent": 100.0 * (part.part_voxels - true_part) / max(true_part, 1),
        "pores_reported": float(summary["pore_count"]),
        "surface_pores_reported": float(summary["pores_by_class"]["surface"]),
        "indications": float(summary["indications_below_detection_limit"]),
        "indications_on_rotation_axis": float(summary["indications_on_rotation_axis"]),
        "threshold": operating_point.threshold,
        "low_threshold": operating_point.grow_threshold,
        "min_diameter_vox": operating_point.min_diameter_vox,
    }
    return metrics, pod, mask


def scan_metrics(
    score: np.ndarray,
    truth: ScanTruth,
    part: PartSegmentation,
    operating_point: OperatingPoint,
    voxel_size: tuple[float, float, float],
    *,
    scan: np.ndarray | None = None,
) -> Evaluation:
    """The verdict's metrics at `operating_point` and the diagnostics (see the module docstring).

    A pore-free scan has no ranking to judge: its AP, ROC AUC and best Dice are NaN and it has
    no curves; its verdict (false calls, porosity reported) is scored as any other."""
    metrics, pod, _ = verdict_metrics(score, truth, part, operating_point, voxel_size, scan=scan)
    if not np.any(truth.labels > 0):
        nan = float("nan")
        metrics.update({"ap": nan, "auc": nan, "dice_best": nan, "threshold_best": nan})
        return Evaluation({k: float(v) for k, v in metrics.items()}, {})
    histogram = _histogram(score, truth)
    best = histogram.best_dice()
    metrics.update(
        {
            "ap": histogram.average_precision(),
            "auc": histogram.roc_auc(),
            "dice_best": best.dice,
            "threshold_best": best.threshold,
        }
    )
    return Evaluation({k: float(v) for k, v in metrics.items()}, _curves(histogram, pod))


#: The filter baseline's mask scored as a 0/1 score: kept as it is (no hysteresis, no size limit),
#: under the verdict's guard about the rotation axis like every model (the same footing).
BASELINE_POINT = OperatingPoint(threshold=0.5, objective="default", source="Otsu's mask as it is")


def baseline_metrics(
    scan: np.ndarray, truth: ScanTruth, part: PartSegmentation, voxel_size: tuple[float, float, float]
) -> Evaluation:
    """Iuso et al.'s Otsu baseline on the same footing, inside the same part; a scan it finds no
    part in counts as no pores found."""
    try:
        mask = otsu_pores(scan).pore_mask
    except VolumeError:
        mask = np.zeros(scan.shape, bool)
    return scan_metrics(mask.astype(np.float32), truth, part, BASELINE_POINT, voxel_size)
