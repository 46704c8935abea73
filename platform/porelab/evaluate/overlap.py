"""Voxel overlap scores of binary masks."""

from __future__ import annotations

import numpy as np

from porelab.errors import VolumeError


def _pair(pred: np.ndarray, truth: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    pred, truth = np.asarray(pred), np.asarray(truth)
    if pred.shape != truth.shape:
        raise VolumeError(f"{name}: prediction shape {pred.shape} differs from truth {truth.shape}")
    return pred.astype(bool, copy=False), truth.astype(bool, copy=False)


def dice(pred: np.ndarray, truth: np.ndarray) -> float:
    """2|P & T| / (|P| + |T|) over voxels (nonzero = foreground); 1.0 when both are empty."""
    p, t = _pair(pred, truth, "dice")
    total = int(p.sum()) + int(t.sum())
    return 1.0 if total == 0 else 2.0 * int((p & t).sum()) / total


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """|P & T| / |P | T| over voxels; 1.0 when both are empty."""
    p, t = _pair(pred, truth, "iou")
    union = int((p | t).sum())
    return 1.0 if union == 0 else int((p & t).sum()) / union
