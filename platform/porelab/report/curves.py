"""Median PR and ROC curves across folds.

Each fold's curve has its own thresholds, so the folds are first put on one common grid of
the x quantity (recall or false-positive rate) by linear interpolation, then the median and
the range are taken point by point.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from porelab.errors import ConfigError

GRID_POINTS = 101


class MedianCurve(NamedTuple):
    """A curve on a common grid: the median over folds and the lowest and highest fold."""

    x: np.ndarray
    median: np.ndarray
    low: np.ndarray
    high: np.ndarray
    folds: int


def on_grid(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """y(grid) by linear interpolation; points are sorted by x (ties by y) first.

    Outside the fold's x range the end values are held, as `np.interp` does.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0:
        raise ConfigError(f"curve points: expected two equal-length 1-D arrays, got {x.shape} and {y.shape}")
    order = np.lexsort((y, x))
    return np.interp(grid, x[order], y[order])


def median_curve(curves: pd.DataFrame, x: str, y: str, grid: np.ndarray | None = None) -> MedianCurve:
    """Median of the folds' curves in `curves` (columns fold, `x`, `y`) on `grid` (default
    101 points over [0, 1])."""
    grid = np.linspace(0.0, 1.0, GRID_POINTS) if grid is None else np.asarray(grid, dtype=float)
    stacked = np.stack(
        [on_grid(fold[x].to_numpy(), fold[y].to_numpy(), grid) for _, fold in curves.groupby("fold", sort=True)]
    )
    return MedianCurve(grid, np.median(stacked, axis=0), stacked.min(axis=0), stacked.max(axis=0), len(stacked))
