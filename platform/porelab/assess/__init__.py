"""Scoring trained models on scans with known pores: score maps, the verdict's metrics at the
model's operating point beside the diagnostics, the Otsu baseline, and calibration of the
operating point. The one scoring path of `porelab evaluate`, the cross-validation and the
degradation job."""

from porelab.assess.metrics import BASELINE_POINT, HEADLINE_METRICS, Evaluation, baseline_metrics, scan_metrics
from porelab.assess.model import (
    BASELINE,
    ModelEvaluation,
    calibrate_run,
    calibrated,
    evaluate_model,
    point_for,
    table_text,
)
from porelab.assess.scans import EvaluationScan, dataset_scans, manifest_entries
from porelab.assess.scores import POSTPROCESSED, RAW, ScoringModel
from porelab.assess.truth import ScanTruth

__all__ = [
    "BASELINE",
    "BASELINE_POINT",
    "Evaluation",
    "EvaluationScan",
    "HEADLINE_METRICS",
    "ModelEvaluation",
    "POSTPROCESSED",
    "RAW",
    "ScanTruth",
    "ScoringModel",
    "baseline_metrics",
    "dataset_scans",
    "calibrate_run",
    "calibrated",
    "evaluate_model",
    "manifest_entries",
    "point_for",
    "scan_metrics",
    "table_text",
]
