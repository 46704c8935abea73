"""The papers' tables: mean and 95 % confidence interval across folds, per model and split."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from porelab.errors import ConfigError
from porelab.report.data import SPLITS


class MeanCI(NamedTuple):
    """Mean of n values and the half-width of its confidence interval (NaN when n < 2)."""

    mean: float
    half_width: float
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


def mean_ci(values: np.ndarray | list[float], confidence: float = 0.95) -> MeanCI:
    """Mean and Student-t interval of the mean (sample std, n - 1 degrees of freedom).

    NaNs (a fold that did not report the metric) are dropped. Written here rather than taken
    from the statistics module so the report depends only on numbers it is given.
    """
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"mean_ci confidence: expected a fraction in (0, 1), got {confidence!r}")
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    n = int(finite.size)
    if n == 0:
        return MeanCI(math.nan, math.nan, 0)
    mean = float(finite.mean())
    if n < 2:
        return MeanCI(mean, math.nan, 1)
    sem = float(finite.std(ddof=1)) / math.sqrt(n)
    return MeanCI(mean, float(stats.t.ppf(0.5 + confidence / 2.0, n - 1)) * sem, n)


def summary_table(results: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """One row per model, split and metric: mean, ci_low, ci_high, half_width and n (folds).

    Models and metrics keep their order of first appearance; splits go validation first.
    """
    rows = []
    for (model, split, metric), group in results.groupby(["model", "split", "metric"], sort=False):
        summary = mean_ci(group["value"].to_numpy(), confidence)
        rows.append({"model": model, "split": split, "metric": metric, "mean": summary.mean,
                     "ci_low": summary.low, "ci_high": summary.high,
                     "half_width": summary.half_width, "n": summary.n})
    table = pd.DataFrame(rows)
    split_rank = table["split"].map({split: rank for rank, split in enumerate(SPLITS)})
    model_rank = table["model"].map(_first_seen(results["model"]))
    metric_rank = table["metric"].map(_first_seen(results["metric"]))
    order = np.lexsort((metric_rank, split_rank, model_rank))
    return table.iloc[order].reset_index(drop=True)


def format_mean_ci(mean: float, half_width: float) -> str:
    """'0.812 ± 0.034'; just the mean when there is no interval, '–' when there is no value."""
    if math.isnan(mean):
        return "–"
    if math.isnan(half_width):
        return _number(mean)
    return f"{_number(mean)} ± {_number(half_width)}"


def _number(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"


def _first_seen(column: pd.Series) -> dict[object, int]:
    return {value: rank for rank, value in enumerate(pd.unique(column))}
