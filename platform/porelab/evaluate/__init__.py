"""Metrics on arrays: voxel overlap, pore-level detection (POD per size, false calls) and
threshold-free ranking scores (AP, ROC AUC). No torch, no Ray."""

from porelab.evaluate.detection import (DEFAULT_BINS, MIN_OVERLAP, detection_by_size, false_calls,
                                        hits)
from porelab.evaluate.overlap import dice, iou
from porelab.evaluate.ranking import ScoreHistogram, average_precision, roc_auc

__all__ = ["DEFAULT_BINS", "MIN_OVERLAP", "ScoreHistogram", "average_precision",
           "detection_by_size", "dice", "false_calls", "hits", "iou", "roc_auc"]
