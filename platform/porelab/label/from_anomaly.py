"""Pore labels from an anomaly map (a post-processed reconstruction error), so supervised
models can be trained on the labels an unsupervised model produced (Iuso et al.).

Threshold the map (a given value, or Otsu's threshold of its positive values), keep the
voxels inside the part when an object mask is given, take 6-connected components and drop
the small pores as the paper's labeller does: components whose bounding box is shorter than
2 voxels along any axis, optionally also those below a voxel count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.filters import threshold_otsu

from porelab.errors import ConfigError, VolumeError
from porelab.label.components import CONNECTIVITY, check_3d, drop_thin, label_components


@dataclass(frozen=True)
class AnomalyLabelConfig:
    """threshold: score above which a voxel is a pore (None: Otsu's threshold of the map's
    positive values); min_extent: smallest bounding-box edge kept; min_voxels: smallest
    pore kept; connectivity: 6, 18 or 26."""

    threshold: float | None = None
    min_extent: int = 2
    min_voxels: int = 1
    connectivity: int = 6

    def __post_init__(self) -> None:
        if self.connectivity not in CONNECTIVITY:
            raise ConfigError(f"AnomalyLabelConfig.connectivity: expected 6, 18 or 26, got {self.connectivity!r}")
        if self.min_extent < 1 or self.min_voxels < 1:
            raise ConfigError(
                f"AnomalyLabelConfig: min_extent and min_voxels must be >= 1, got {self.min_extent}, {self.min_voxels}"
            )


@dataclass
class AnomalyLabels:
    mask: np.ndarray  # bool: kept pore voxels
    labels: np.ndarray  # int32: pore ids 1..n, 0 elsewhere
    threshold: float

    @property
    def pore_count(self) -> int:
        return int(self.labels.max(initial=0))


def anomaly_threshold(anomaly: np.ndarray) -> float:
    """Otsu's threshold of the positive scores (a post-processed map is mostly exact zeros,
    which would otherwise dominate the histogram)."""
    positive = anomaly[anomaly > 0]
    if positive.size < 2 or positive.min() == positive.max():
        raise VolumeError(
            "anomaly_labels: the anomaly map needs at least two distinct positive "
            "scores for an automatic threshold; give AnomalyLabelConfig.threshold"
        )
    return float(threshold_otsu(positive))


def anomaly_labels(
    anomaly: np.ndarray, config: AnomalyLabelConfig = AnomalyLabelConfig(), object_mask: np.ndarray | None = None
) -> AnomalyLabels:
    """Pore labels from `anomaly` (z, y, x); voxels outside `object_mask` are never pores."""
    anomaly = check_3d(np.asarray(anomaly, dtype=np.float32), "anomaly_labels anomaly")
    if not np.isfinite(anomaly).all():
        raise VolumeError("anomaly_labels: the anomaly map holds non-finite values")
    threshold = anomaly_threshold(anomaly) if config.threshold is None else float(config.threshold)
    candidates = anomaly > threshold
    if object_mask is not None:
        object_mask = check_3d(np.asarray(object_mask, dtype=bool), "anomaly_labels object_mask")
        if object_mask.shape != anomaly.shape:
            raise VolumeError(
                f"anomaly_labels: object_mask shape {object_mask.shape} differs from the anomaly map's {anomaly.shape}"
            )
        candidates &= object_mask
    labels = drop_thin(label_components(candidates, config.connectivity), config.min_extent)
    labels = _drop_small(labels, config.min_voxels)
    return AnomalyLabels(labels > 0, labels, threshold)


def _drop_small(labels: np.ndarray, min_voxels: int) -> np.ndarray:
    if min_voxels <= 1:
        return labels
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_voxels
    keep[0] = False
    new_ids = np.zeros(sizes.size, dtype=np.int32)
    new_ids[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return new_ids[labels]
