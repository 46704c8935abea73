"""Metrics on arrays: voxel overlap, pore-level detection (POD per size, false calls, the
MIL-HDBK-1823A hit/miss POD fit), threshold-free ranking scores (AP, ROC AUC) and streaming
threshold scores, per-class Jaccard with the ZeroOC baselines, and statistics across folds.
No torch, no Ray."""

from porelab.evaluate.detection import DEFAULT_BINS, MIN_OVERLAP, detection_by_size, false_calls, hits
from porelab.evaluate.operating_points import Curve, OperatingPoint
from porelab.evaluate.overlap import dice, iou
from porelab.evaluate.phases import (
    PHASES,
    BinZeroOC,
    ZeroOC,
    confusion_counts,
    jaccard_from_confusion,
    per_class_jaccard,
    phase_baselines,
)
from porelab.evaluate.pod import PODConfig, PODResult, PODStatus, fit_pod, hit_miss, probability_of_detection
from porelab.evaluate.ranking import ScoreHistogram, average_precision, roc_auc
from porelab.evaluate.statistics import MeanCI, WelchTest, mean_ci, summarise_folds, welch_t_test

__all__ = [
    "BinZeroOC",
    "Curve",
    "DEFAULT_BINS",
    "MIN_OVERLAP",
    "MeanCI",
    "OperatingPoint",
    "PHASES",
    "PODConfig",
    "PODResult",
    "PODStatus",
    "ScoreHistogram",
    "WelchTest",
    "ZeroOC",
    "average_precision",
    "confusion_counts",
    "detection_by_size",
    "dice",
    "false_calls",
    "fit_pod",
    "hit_miss",
    "hits",
    "iou",
    "jaccard_from_confusion",
    "mean_ci",
    "per_class_jaccard",
    "phase_baselines",
    "probability_of_detection",
    "roc_auc",
    "summarise_folds",
    "welch_t_test",
]
