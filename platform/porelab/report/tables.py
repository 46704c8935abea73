"""The papers' tables: mean and 95 % confidence interval across folds, per model and split."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd

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
    """Mean and the half-width of its Student-t interval (`porelab.evaluate.mean_ci`, NaN folds
    dropped; NaN half-width with fewer than two values)."""
    from porelab.evaluate.statistics import mean_ci as interval

    result = interval(values, confidence)
    half = (result.ci_high - result.ci_low) / 2.0 if result.n >= 2 else math.nan
    return MeanCI(result.mean, half, result.n)


def summary_table(results: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """One row per model, split and metric: mean, ci_low, ci_high (clipped to the metric's range,
    `METRIC_RANGES`), half_width (before clipping) and n (folds).

    Models and metrics keep their order of first appearance; splits go validation first.
    """
    rows = []
    for (model, split, metric), group in results.groupby(["model", "split", "metric"], sort=False):
        summary = _mean_ci_or_not_reached(group["value"].to_numpy(), confidence)
        low, high = metric_range(metric)
        rows.append(
            {
                "model": model,
                "split": split,
                "metric": metric,
                "mean": summary.mean,
                "ci_low": max(low, summary.low),
                "ci_high": min(high, summary.high),
                "half_width": summary.half_width,
                "n": summary.n,
            }
        )
    table = pd.DataFrame(rows)
    split_rank = table["split"].map({split: rank for rank, split in enumerate(SPLITS)})
    model_rank = table["model"].map(_first_seen(results["model"]))
    metric_rank = table["metric"].map(_first_seen(results["metric"]))
    order = np.lexsort((metric_rank, split_rank, model_rank))
    return table.iloc[order].reset_index(drop=True)


def _mean_ci_or_not_reached(values: np.ndarray, confidence: float) -> MeanCI:
    """`mean_ci`, but inf (a POD size not reached within the sizes tested) when any fold has
    inf: the mean of the folds that reached it would hide the ones that did not."""
    if np.isposinf(values).any():
        return MeanCI(math.inf, math.nan, int(np.count_nonzero(~np.isnan(values))))
    return mean_ci(values, confidence)


#: Where each metric can lie (lower-case names); an interval reaching past it is clipped there.
METRIC_RANGES: dict[str, tuple[float, float]] = {
    **{name: (0.0, 1.0) for name in ("ap", "auc", "dice", "dice_best", "precision", "recall", "iou")},
    **{name: (0.0, 100.0) for name in ("pores_found_percent",)},
    **{name: (0.0, math.inf) for name in ("false_calls", "false_calls_per_128c", "pod_a50", "pod_a90", "pod_a90_95")},
}
#: Fewer folds than this: the interval is marked (with 2 folds the t interval spans 12.7 standard errors).
FEW_FOLDS = 3


def metric_range(metric: str) -> tuple[float, float]:
    """The range of `metric` (unbounded for a metric not listed, e.g. a signed error)."""
    return METRIC_RANGES.get(str(metric).lower(), (-math.inf, math.inf))


def format_mean_ci(mean: float, half_width: float, metric: str = "", n: int = FEW_FOLDS) -> str:
    """'0.812 ± 0.034'; '0.990 (0.962–1.000)' when the interval is clipped to the metric's range;
    a '†' when fewer than FEW_FOLDS folds made it; just the mean when there is no interval, '–'
    when there is no value, 'not reached' for a POD size some fold's curve does not reach within
    the sizes tested (inf)."""
    if math.isnan(mean):
        return "–"
    if mean == math.inf:
        return "not reached"
    mark = " †" if n < FEW_FOLDS else ""
    if math.isnan(half_width):
        return _number(mean) + mark
    low, high = metric_range(metric)
    if mean - half_width < low or mean + half_width > high:
        clipped_low, clipped_high = max(low, mean - half_width), min(high, mean + half_width)
        return f"{_number(mean)} ({_number(clipped_low)}–{_number(clipped_high)}){mark}"
    return f"{_number(mean)} ± {_number(half_width)}{mark}"


def _number(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"


def _first_seen(column: pd.Series) -> dict[object, int]:
    return {value: rank for rank, value in enumerate(pd.unique(column))}
