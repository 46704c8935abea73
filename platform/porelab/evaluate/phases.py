"""Per-class Jaccard for the three-phase composite case (matrix, fibre, pore) and the two
reference classifiers of Bertoldo et al. that every model must beat.

Definitions (as in the authors' code, github.com/jpcbertoldo/tomo2seg: `Order0Classifier` and
`BinwiseOrder0Classifier`):

- ZeroOC, the zero-order classifier: calls every voxel the class that is most frequent in the
  labels it was fitted on. Its per-class Jaccard is (p_majority, 0, 0, ...).
- Bin-ZeroOC, the bin-wise zero-order classifier: the same rule per grey-value bin. The
  fitted image's grey values are cut into `bins` equal bins (256 in the paper, an 8-bit
  scan); each bin predicts the class most frequent among the voxels in it (bins with no
  voxel predict the overall majority). It is the best classifier that looks at one voxel's
  grey value only: a segmentation has to use context to beat it.

The confusion matrix is accumulated with `np.bincount`, so a volume costs one pass and
O(classes^2) memory beyond its arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from porelab.errors import ConfigError, VolumeError

PHASES = ("matrix", "fibre", "pore")


@dataclass(frozen=True)
class ZeroOC:
    """Predicts `majority` everywhere."""

    majority: int
    n_classes: int

    @classmethod
    def fit(cls, truth: np.ndarray, n_classes: int = len(PHASES)) -> ZeroOC:
        counts = np.bincount(_classes(truth, n_classes, "ZeroOC truth"), minlength=n_classes)
        return cls(int(np.argmax(counts)), n_classes)

    def predict(self, image: np.ndarray) -> np.ndarray:
        return np.full(np.shape(image), self.majority, dtype=np.int64)


@dataclass(frozen=True, eq=False)  # holds arrays, which a generated == cannot compare
class BinZeroOC:
    """Predicts `decision[b]` for a voxel whose grey value falls in bin b of `edges`; values
    outside the fitted range go to the end bins."""

    edges: np.ndarray
    decision: np.ndarray
    n_classes: int

    @classmethod
    def fit(cls, image: np.ndarray, truth: np.ndarray, n_classes: int = len(PHASES), bins: int = 256) -> BinZeroOC:
        image, labels = _image_and_labels(image, truth, n_classes)
        if bins < 1:
            raise ConfigError(f"Bin-ZeroOC bins: expected at least 1, got {bins!r}")
        low, high = float(image.min()), float(image.max())
        edges = np.linspace(low, high if high > low else low + 1.0, bins + 1)
        counts = np.bincount(_bin_index(image, edges) * n_classes + labels, minlength=bins * n_classes).reshape(
            bins, n_classes
        )
        majority = int(np.argmax(counts.sum(axis=0)))
        decision = np.where(counts.sum(axis=1) > 0, np.argmax(counts, axis=1), majority)
        return cls(edges, decision.astype(np.int64), n_classes)

    def predict(self, image: np.ndarray) -> np.ndarray:
        image = np.asarray(image, dtype=np.float64)
        return self.decision[_bin_index(image.ravel(), self.edges)].reshape(image.shape)


def confusion_counts(pred: np.ndarray, truth: np.ndarray, n_classes: int = len(PHASES)) -> np.ndarray:
    """(n_classes, n_classes) voxel counts, rows the true class and columns the predicted."""
    p, t = np.asarray(pred), np.asarray(truth)
    if p.shape != t.shape:
        raise VolumeError(f"per-class Jaccard: prediction shape {p.shape} differs from truth {t.shape}")
    flat = _classes(t, n_classes, "truth") * n_classes + _classes(p, n_classes, "prediction")
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def jaccard_from_confusion(confusion: np.ndarray) -> np.ndarray:
    """Per class |P & T| / |P | T|; NaN for a class absent from both."""
    confusion = np.asarray(confusion, dtype=np.float64)
    intersection = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, intersection / np.where(union > 0, union, 1), np.nan)


def per_class_jaccard(pred: np.ndarray, truth: np.ndarray, n_classes: int = len(PHASES)) -> np.ndarray:
    """Jaccard (IoU) of each class 0..n_classes-1 of two label volumes."""
    return jaccard_from_confusion(confusion_counts(pred, truth, n_classes))


def phase_baselines(
    image: np.ndarray,
    truth: np.ndarray,
    n_classes: int = len(PHASES),
    bins: int = 256,
    fit_image: np.ndarray | None = None,
    fit_truth: np.ndarray | None = None,
    class_names: tuple[str, ...] = PHASES,
) -> pd.DataFrame:
    """Per-class Jaccard of ZeroOC and Bin-ZeroOC on (`image`, `truth`), fitted on
    (`fit_image`, `fit_truth`) (default: the same volume, as in the paper's tables).
    Columns: baseline, class, name, jaccard; plus a `mean` row per baseline (macro average)."""
    if len(class_names) < n_classes:
        raise ConfigError(f"phase_baselines class_names: {len(class_names)} names for {n_classes} classes")
    fit_image = image if fit_image is None else fit_image
    fit_truth = truth if fit_truth is None else fit_truth
    models = {
        "ZeroOC": ZeroOC.fit(fit_truth, n_classes),
        "Bin-ZeroOC": BinZeroOC.fit(fit_image, fit_truth, n_classes, bins),
    }
    rows = []
    for name, model in models.items():
        scores = per_class_jaccard(model.predict(image), truth, n_classes)
        rows += [
            {"baseline": name, "class": c, "name": class_names[c], "jaccard": float(s)} for c, s in enumerate(scores)
        ]
        rows.append({"baseline": name, "class": -1, "name": "mean", "jaccard": float(np.nanmean(scores))})
    return pd.DataFrame(rows)


def _classes(labels: np.ndarray, n_classes: int, name: str) -> np.ndarray:
    flat = np.asarray(labels).ravel()
    if not np.issubdtype(flat.dtype, np.integer):
        raise VolumeError(f"{name}: expected integer class labels, got {flat.dtype}")
    if flat.size and (flat.min() < 0 or flat.max() >= n_classes):
        raise VolumeError(f"{name}: class labels must lie in 0..{n_classes - 1}, got {flat.min()}..{flat.max()}")
    return flat.astype(np.int64, copy=False)


def _image_and_labels(image: np.ndarray, truth: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(image, dtype=np.float64)
    if image.shape != np.shape(truth):
        raise VolumeError(f"Bin-ZeroOC: image shape {image.shape} differs from truth {np.shape(truth)}")
    if image.size == 0 or not np.all(np.isfinite(image)):
        raise VolumeError("Bin-ZeroOC image: expected a non-empty array of finite grey values")
    return image.ravel(), _classes(truth, n_classes, "Bin-ZeroOC truth")


def _bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    bins = len(edges) - 1
    scaled = (values - edges[0]) / (edges[-1] - edges[0]) * bins
    return np.clip(scaled.astype(np.int64), 0, bins - 1)
