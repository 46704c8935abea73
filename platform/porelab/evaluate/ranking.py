"""Voxel metrics of a score map: average precision and ROC AUC, and from a histogram also
Dice/IoU at a threshold, the best-Dice threshold, the TPR at a fixed FPR and curves.

`average_precision` is exact (sorts the scores). `ScoreHistogram` accumulates positives and
negatives per score bin so that 10^9 voxels need O(bins) memory; its scores match the exact
values to the bin resolution, and its thresholds are the bin edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from porelab.errors import ConfigError
from porelab.evaluate import operating_points as _points
from porelab.evaluate.operating_points import Curve, OperatingPoint


def _flat(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores, labels = np.asarray(scores, dtype=np.float64).ravel(), np.asarray(labels).ravel() > 0
    if scores.shape != labels.shape:
        raise ConfigError(f"scores ({scores.size} values) and labels ({labels.size}) differ in size")
    return scores, labels


def _ap_from_counts(tp: np.ndarray, fp: np.ndarray) -> float:
    """AP = sum over thresholds of (R_n - R_{n-1}) P_n, counts ordered from the highest score down."""
    tp_cum, fp_cum = np.cumsum(tp), np.cumsum(fp)
    positives = tp_cum[-1] if tp_cum.size else 0
    if positives == 0:
        return float("nan")
    precision = tp_cum / np.maximum(tp_cum + fp_cum, 1)
    recall = tp_cum / positives
    return float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))


def _auc_from_counts(tp: np.ndarray, fp: np.ndarray) -> float:
    tpr = np.concatenate([[0.0], np.cumsum(tp)])
    fpr = np.concatenate([[0.0], np.cumsum(fp)])
    if tpr[-1] == 0 or fpr[-1] == 0:
        return float("nan")
    return float(np.trapezoid(tpr / tpr[-1], fpr / fpr[-1]))


def _grouped_counts(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-scores, kind="stable")
    scores, labels = scores[order], labels[order]
    starts = np.flatnonzero(np.concatenate([[True], np.diff(scores) != 0]))
    tp = np.add.reduceat(labels.astype(np.int64), starts) if scores.size else np.zeros(0)
    counts = np.diff(np.concatenate([starts, [scores.size]]))
    return tp, counts - tp


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Exact AP (tied scores form one threshold), as scikit-learn computes it."""
    return _ap_from_counts(*_grouped_counts(*_flat(scores, labels)))


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    return _auc_from_counts(*_grouped_counts(*_flat(scores, labels)))


@dataclass
class ScoreHistogram:
    """Positives and negatives per score bin over [low, high]; add batches (or merge the
    histograms of several workers), then read the scores.

    Scores outside [low, high] are counted in the end bins. Thresholds are the bin edges
    low + k (high - low) / bins: a voxel is called positive when its score is >= the edge.
    """

    low: float = 0.0
    high: float = 1.0
    bins: int = 10_000
    positives: np.ndarray = field(init=False)
    negatives: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        if not self.high > self.low or self.bins < 2:
            raise ConfigError(
                f"score histogram: range [{self.low}, {self.high}] with {self.bins} bins; "
                "expected low < high and at least 2 bins"
            )
        self.positives = np.zeros(self.bins, np.int64)
        self.negatives = np.zeros(self.bins, np.int64)

    def add(self, scores: np.ndarray, labels: np.ndarray, mask: np.ndarray | None = None) -> None:
        scores, labels = _flat(scores, labels)
        if mask is not None:
            keep = np.asarray(mask).ravel() > 0
            scores, labels = scores[keep], labels[keep]
        index = np.clip(((scores - self.low) / (self.high - self.low) * self.bins).astype(np.int64), 0, self.bins - 1)
        self.positives += np.bincount(index[labels], minlength=self.bins)
        self.negatives += np.bincount(index[~labels], minlength=self.bins)

    def merge(self, other: ScoreHistogram) -> None:
        """Add the counts of a histogram with the same range and bins (e.g. from another slab)."""
        if (other.low, other.high, other.bins) != (self.low, self.high, self.bins):
            raise ConfigError(
                f"score histogram merge: range [{other.low}, {other.high}] with "
                f"{other.bins} bins differs from [{self.low}, {self.high}] with "
                f"{self.bins} bins"
            )
        self.positives += other.positives
        self.negatives += other.negatives

    def average_precision(self) -> float:
        return _ap_from_counts(self.positives[::-1], self.negatives[::-1])

    def roc_auc(self) -> float:
        return _auc_from_counts(self.positives[::-1], self.negatives[::-1])

    def edge(self, threshold: float) -> float:
        """The bin edge a threshold snaps to (the nearest one)."""
        return float(self._edges()[self._edge_index(threshold)])

    def at_threshold(self, threshold: float) -> OperatingPoint:
        """TP/FP/FN/TN, Dice and IoU with `threshold` snapped to the nearest bin edge."""
        return _points.point_at(self._counts(), self._edge_index(threshold))

    def best_dice(self) -> OperatingPoint:
        """The bin edge with the highest Dice, and its IoU, precision and recall."""
        return _points.best_dice(self._counts())

    def tpr_at_fpr(self, max_fpr: float) -> OperatingPoint:
        """The highest TPR among thresholds whose FPR is at most `max_fpr`."""
        return _points.tpr_at_fpr(self._counts(), max_fpr)

    def pr_curve(self, points: int = 200) -> Curve:
        return _points.pr_curve(self._counts(), points)

    def roc_curve(self, points: int = 200) -> Curve:
        return _points.roc_curve(self._counts(), points)

    def _edges(self) -> np.ndarray:
        return self.low + (self.high - self.low) * np.arange(self.bins + 1) / self.bins

    def _edge_index(self, threshold: float) -> int:
        if not np.isfinite(threshold):
            raise ConfigError(f"score histogram threshold: expected a finite number, got {threshold!r}")
        k = round((threshold - self.low) / (self.high - self.low) * self.bins)
        return int(min(max(k, 0), self.bins))

    def _counts(self) -> _points.Counts:
        """Voxels in bins >= k, for every edge k (the last edge calls nothing positive)."""
        tp = np.concatenate([np.cumsum(self.positives[::-1])[::-1], [0]])
        fp = np.concatenate([np.cumsum(self.negatives[::-1])[::-1], [0]])
        return _points.Counts(self._edges(), tp, fp, int(tp[0]), int(fp[0]))
