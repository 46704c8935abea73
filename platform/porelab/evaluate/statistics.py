"""Statistics across cross-validation folds: mean with a Student-t confidence interval,
Welch's t-test between two models, and a per-group summary table.

The formulas are written out (they are a few lines) so the table can carry the standard
error and the Welch-Satterthwaite degrees of freedom, and so a group with one fold or a
failed fold (NaN) gives NaN instead of a warning; only the t distribution comes from scipy.
Tests check them against `scipy.stats.t.interval` and `scipy.stats.ttest_ind(equal_var=False)`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from porelab.errors import ConfigError

_ALTERNATIVES = ("two-sided", "greater", "less")


@dataclass(frozen=True)
class MeanCI:
    """Mean of n values and its confidence interval mean +- t_{(1+c)/2, n-1} s / sqrt(n)."""

    mean: float
    ci_low: float
    ci_high: float
    n: int
    std: float
    confidence: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class WelchTest:
    """Welch's t-test of mean(a) - mean(b): statistic, Welch-Satterthwaite dof and p-value."""

    statistic: float
    dof: float
    p_value: float
    mean_a: float
    mean_b: float
    alternative: str

    def to_dict(self) -> dict[str, float | str]:
        return asdict(self)


def mean_ci(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> MeanCI:
    """Mean and Student-t confidence interval of the finite values (NaN folds are dropped);
    the interval is NaN with fewer than two values."""
    _check_confidence(confidence)
    x = _finite(values)
    if x.size == 0:
        return MeanCI(math.nan, math.nan, math.nan, 0, math.nan, confidence)
    mean = float(x.mean())
    if x.size < 2:
        return MeanCI(mean, math.nan, math.nan, 1, math.nan, confidence)
    std = float(x.std(ddof=1))
    half = float(student_t.ppf(0.5 + confidence / 2.0, x.size - 1)) * std / math.sqrt(x.size)
    return MeanCI(mean, mean - half, mean + half, int(x.size), std, confidence)


def welch_t_test(
    a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, alternative: str = "two-sided"
) -> WelchTest:
    """Welch's unequal-variance t-test: t = (mean_a - mean_b) / sqrt(s_a^2/n_a + s_b^2/n_b),
    dof = (v_a + v_b)^2 / (v_a^2/(n_a-1) + v_b^2/(n_b-1)) with v = s^2/n."""
    if alternative not in _ALTERNATIVES:
        raise ConfigError(f"Welch t-test alternative: expected one of {_ALTERNATIVES}, got {alternative!r}")
    x, y = _finite(a), _finite(b)
    if x.size < 2 or y.size < 2:
        raise ConfigError(f"Welch t-test: needs at least two finite values per model, got {x.size} and {y.size}")
    va, vb = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    if va + vb == 0:
        raise ConfigError("Welch t-test: both samples have zero variance, the statistic is undefined")
    statistic = float((x.mean() - y.mean()) / math.sqrt(va + vb))
    dof = float((va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1)))
    return WelchTest(
        statistic, dof, _p_value(statistic, dof, alternative), float(x.mean()), float(y.mean()), alternative
    )


def summarise_folds(
    df: pd.DataFrame, by: Sequence[str], metric_cols: Sequence[str], confidence: float = 0.95
) -> pd.DataFrame:
    """One row per group of `by` and metric column: the `by` values, `metric` (the column
    name), mean, ci_low, ci_high, n and std over the group's rows (one per fold).

    Works on the long results table (one row per trial, fold and metric: by=[..., "metric"],
    metric_cols=["value"]) and on wide tables (one column per metric).
    """
    by, metric_cols = list(by), list(metric_cols)
    missing = sorted(set(by + metric_cols) - set(df.columns))
    if missing:
        raise ConfigError(
            f"summarise_folds: columns {missing} not in the table (it has {sorted(map(str, df.columns))})"
        )
    if "metric" in by and len(metric_cols) > 1:
        raise ConfigError(
            f"summarise_folds: with 'metric' in by (a long table) give one value column, got metric_cols={metric_cols}"
        )
    rows = [
        _summary_row(keys, group[column], by, column, confidence)
        for keys, group in df.groupby(by, sort=True, dropna=False)
        for column in metric_cols
    ]
    return pd.DataFrame(
        rows, columns=[*by, *(["metric"] if "metric" not in by else []), "mean", "ci_low", "ci_high", "n", "std"]
    )


def _summary_row(keys: object, values: pd.Series, by: list[str], column: str, confidence: float) -> dict[str, object]:
    keys = keys if isinstance(keys, tuple) else (keys,)
    summary = mean_ci(values.to_numpy(dtype=float), confidence)
    row: dict[str, object] = dict(zip(by, keys))
    row.setdefault("metric", column)
    row.update(mean=summary.mean, ci_low=summary.ci_low, ci_high=summary.ci_high, n=summary.n, std=summary.std)
    return row


def _p_value(statistic: float, dof: float, alternative: str) -> float:
    if alternative == "greater":
        return float(student_t.sf(statistic, dof))
    if alternative == "less":
        return float(student_t.cdf(statistic, dof))
    return float(2.0 * student_t.sf(abs(statistic), dof))


def _finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    return x[np.isfinite(x)]


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence: expected a fraction in (0, 1), got {confidence!r}")
