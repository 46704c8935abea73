"""Threshold-level scores of a binary score map from cumulative counts: one operating point
(Dice, IoU, precision, recall, FPR at a threshold), the best-Dice point, the TPR at a fixed
FPR, and downsampled precision-recall and ROC curves for plots.

Everything works on `Counts`: true and false positives for a list of thresholds, highest
threshold last. `ScoreHistogram` builds them from its bins, so none of this ever holds one
number per voxel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from porelab.errors import ConfigError


@dataclass(frozen=True, eq=False)  # holds arrays, which a generated == cannot compare
class Counts:
    """Voxels called positive at each threshold: `tp[k]`, `fp[k]` for `thresholds[k]`
    (increasing), out of `positives` true and `negatives` false voxels."""

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    positives: int
    negatives: int


@dataclass(frozen=True)
class OperatingPoint:
    """A voxel counts as positive when its score is >= `threshold`."""

    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def dice(self) -> float:
        """2TP / (2TP + FP + FN); 1.0 when there is nothing to find and nothing is called."""
        total = 2 * self.tp + self.fp + self.fn
        return 1.0 if total == 0 else 2.0 * self.tp / total

    @property
    def iou(self) -> float:
        total = self.tp + self.fp + self.fn
        return 1.0 if total == 0 else self.tp / total

    @property
    def precision(self) -> float:
        """TP / (TP + FP); 1.0 when nothing is called (scikit-learn's convention for curves)."""
        called = self.tp + self.fp
        return 1.0 if called == 0 else self.tp / called

    @property
    def recall(self) -> float:
        positives = self.tp + self.fn
        return float("nan") if positives == 0 else self.tp / positives

    @property
    def tpr(self) -> float:
        """The recall, under its ROC name."""
        return self.recall

    @property
    def fpr(self) -> float:
        negatives = self.fp + self.tn
        return float("nan") if negatives == 0 else self.fp / negatives

    def to_dict(self) -> dict[str, float | int]:
        return {
            "threshold": self.threshold,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "dice": self.dice,
            "iou": self.iou,
            "precision": self.precision,
            "recall": self.recall,
            "fpr": self.fpr,
        }


@dataclass(frozen=True, eq=False)  # holds arrays, which a generated == cannot compare
class Curve:
    """Points of a precision-recall (x = recall, y = precision) or ROC (x = FPR, y = TPR)
    curve, with the threshold of each point, ordered by decreasing threshold."""

    x: np.ndarray
    y: np.ndarray
    thresholds: np.ndarray
    x_name: str
    y_name: str

    def to_dict(self) -> dict[str, list[float]]:
        return {self.x_name: self.x.tolist(), self.y_name: self.y.tolist(), "threshold": self.thresholds.tolist()}


def point_at(counts: Counts, k: int) -> OperatingPoint:
    tp, fp = int(counts.tp[k]), int(counts.fp[k])
    return OperatingPoint(float(counts.thresholds[k]), tp, fp, counts.positives - tp, counts.negatives - fp)


def best_dice(counts: Counts) -> OperatingPoint:
    """The threshold with the highest Dice (IoU = Dice / (2 - Dice) peaks at the same one)."""
    if counts.positives == 0:
        raise ConfigError("best Dice: the labels hold no positive voxel, so every threshold ties")
    dice = 2.0 * counts.tp / (counts.tp + counts.fp + counts.positives)
    return point_at(counts, int(np.argmax(dice)))


def tpr_at_fpr(counts: Counts, max_fpr: float) -> OperatingPoint:
    """The operating point with the highest TPR whose FPR does not exceed `max_fpr`: a
    threshold a user can actually set, not an interpolation between two of them."""
    if not 0.0 <= max_fpr <= 1.0:
        raise ConfigError(f"TPR at FPR: max_fpr must lie in [0, 1], got {max_fpr!r}")
    if counts.negatives == 0 or counts.positives == 0:
        raise ConfigError(
            "TPR at FPR: needs both positive and negative voxels, got "
            f"{counts.positives} positive and {counts.negatives} negative"
        )
    allowed = np.flatnonzero(counts.fp <= max_fpr * counts.negatives)
    # tp falls as the threshold rises, so the lowest allowed threshold has the highest TPR
    return point_at(counts, int(allowed[0]))


def pr_curve(counts: Counts, points: int = 200) -> Curve:
    called = counts.tp + counts.fp
    precision = np.where(called > 0, counts.tp / np.maximum(called, 1), 1.0)
    recall = counts.tp / max(counts.positives, 1)
    return _downsampled(recall, precision, counts.thresholds, points, ("recall", "precision"))


def roc_curve(counts: Counts, points: int = 200) -> Curve:
    fpr = counts.fp / max(counts.negatives, 1)
    tpr = counts.tp / max(counts.positives, 1)
    return _downsampled(fpr, tpr, counts.thresholds, points, ("fpr", "tpr"))


def _downsampled(x: np.ndarray, y: np.ndarray, thresholds: np.ndarray, points: int, names: tuple[str, str]) -> Curve:
    """Distinct points from the highest threshold down, thinned evenly to at most `points`
    (the first and last kept)."""
    if points < 2:
        raise ConfigError(f"curve points: expected at least 2, got {points!r}")
    x, y, thresholds = x[::-1], y[::-1], thresholds[::-1]
    changed = np.concatenate([[True], (np.diff(x) != 0) | (np.diff(y) != 0)])
    x, y, thresholds = x[changed], y[changed], thresholds[changed]
    if x.size > points:
        keep = np.unique(np.round(np.linspace(0, x.size - 1, points)).astype(np.int64))
        x, y, thresholds = x[keep], y[keep], thresholds[keep]
    return Curve(x.astype(float), y.astype(float), thresholds.astype(float), *names)
