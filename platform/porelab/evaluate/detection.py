"""Pore-level detection: which true pores a predicted mask finds, per size, and its false calls."""

from __future__ import annotations

import numpy as np
import pandas as pd

from porelab.errors import ConfigError, VolumeError
from porelab.label.components import label_components

DEFAULT_BINS = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 12.0, 20.0, np.inf)
MIN_OVERLAP = 0.5


def _checked(pred_mask: np.ndarray, true_labels: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    pred, labels = np.asarray(pred_mask), np.asarray(true_labels)
    if pred.shape != labels.shape:
        raise VolumeError(f"{name}: pred_mask shape {pred.shape} differs from true_labels {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise VolumeError(f"{name}: true_labels must be integer instance ids, got {labels.dtype}")
    return pred.astype(bool, copy=False), labels


def hits(pred_mask: np.ndarray, true_labels: np.ndarray, min_overlap: float = MIN_OVERLAP) -> pd.Series:
    """Per true pore id: True when the predicted mask covers at least `min_overlap` (default
    half) of the pore's labelled voxels. Pores count by their voxels, not by their pieces, so
    a lack-of-fusion pore in several pieces is one pore."""
    if not 0.0 < min_overlap <= 1.0:
        raise ConfigError(f"hits min_overlap: expected a fraction in (0, 1], got {min_overlap!r}")
    pred, labels = _checked(pred_mask, true_labels, "hits")
    flat = labels.ravel()
    size = np.bincount(flat)
    covered = np.bincount(flat, weights=pred.ravel(), minlength=len(size))
    ids = np.flatnonzero(size[1:]) + 1
    return pd.Series(covered[ids] >= min_overlap * size[ids], index=pd.Index(ids, name="id"), name="hit")


def detection_by_size(
    pred_mask: np.ndarray,
    true_labels: np.ndarray,
    true_table: pd.DataFrame,
    bins: tuple[float, ...] = DEFAULT_BINS,
    min_overlap: float = MIN_OVERLAP,
) -> pd.DataFrame:
    """Hit rate (probability of detection) per equivalent-diameter bin [low, high) in voxels.

    `true_table` needs `id` and `equivalent_diameter_vox` (a pore table of `true_labels`); a
    pore is hit by the rule of `hits`. Columns: bin_low, bin_high, n_true, n_hit, hit_rate
    (NaN for an empty bin).
    """
    edges = np.asarray(bins, dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ConfigError(f"detection_by_size bins: expected increasing edges, got {bins!r}")
    missing = {"id", "equivalent_diameter_vox"} - set(true_table.columns)
    if missing:
        raise ConfigError(f"detection_by_size true_table: missing columns {sorted(missing)}")
    hit = hits(pred_mask, true_labels, min_overlap)
    found = hit.reindex(true_table["id"].to_numpy(), fill_value=False).to_numpy()
    which = np.digitize(true_table["equivalent_diameter_vox"].to_numpy(), edges) - 1
    rows = []
    for b in range(len(edges) - 1):
        in_bin = which == b
        n_true, n_hit = int(in_bin.sum()), int(found[in_bin].sum())
        rows.append(
            {
                "bin_low": edges[b],
                "bin_high": edges[b + 1],
                "n_true": n_true,
                "n_hit": n_hit,
                "hit_rate": n_hit / n_true if n_true else np.nan,
            }
        )
    return pd.DataFrame(rows)


def false_calls(pred_mask: np.ndarray, true_labels: np.ndarray, connectivity: int = 6) -> int:
    """Number of `connectivity`-connected components of the predicted mask that touch no voxel
    of any true pore."""
    pred, labels = _checked(pred_mask, true_labels, "false_calls")
    components = label_components(pred, connectivity)
    n = int(components.max(initial=0))
    touching = np.bincount(components.ravel(), weights=(labels > 0).ravel(), minlength=n + 1)
    return int(np.count_nonzero(touching[1:] == 0))
