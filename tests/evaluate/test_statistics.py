"""Fold statistics against scipy: Student-t intervals and Welch's t-test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from porelab.errors import ConfigError
from porelab.evaluate import mean_ci, summarise_folds, welch_t_test


@pytest.mark.parametrize("n, confidence", [(2, 0.95), (5, 0.95), (5, 0.9), (30, 0.99)])
def test_mean_ci_matches_scipy_t_interval(n, confidence):
    values = np.random.default_rng(n).normal(0.8, 0.05, n)
    low, high = stats.t.interval(confidence, n - 1, loc=values.mean(), scale=stats.sem(values))
    result = mean_ci(values, confidence)
    assert (result.mean, result.ci_low, result.ci_high) == pytest.approx((values.mean(), low, high), rel=1e-12)
    assert result.n == n and result.std == pytest.approx(values.std(ddof=1))


def test_mean_ci_drops_failed_folds_and_needs_two_values():
    result = mean_ci([0.7, np.nan, 0.9])
    assert result.n == 2 and result.mean == pytest.approx(0.8)
    single = mean_ci([0.7])
    assert single.mean == 0.7 and np.isnan(single.ci_low) and np.isnan(single.ci_high)
    assert mean_ci([]).n == 0 and np.isnan(mean_ci([]).mean)
    with pytest.raises(ConfigError, match="confidence"):
        mean_ci([1.0, 2.0], confidence=95)


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_welch_matches_scipy_ttest_ind(alternative):
    rng = np.random.default_rng(3)
    a, b = rng.normal(0.80, 0.02, 5), rng.normal(0.76, 0.06, 7)
    reference = stats.ttest_ind(a, b, equal_var=False, alternative=alternative)
    result = welch_t_test(a, b, alternative)
    assert result.statistic == pytest.approx(reference.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert result.dof == pytest.approx(reference.df, rel=1e-12)
    assert result.to_dict()["alternative"] == alternative


def test_welch_rejects_what_it_cannot_test():
    with pytest.raises(ConfigError, match="two finite values"):
        welch_t_test([0.8], [0.7, 0.75])
    with pytest.raises(ConfigError, match="zero variance"):
        welch_t_test([0.8, 0.8], [0.7, 0.7])
    with pytest.raises(ConfigError, match="alternative"):
        welch_t_test([0.8, 0.9], [0.7, 0.75], alternative="bigger")


def _long_results() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = [
        {"model": model, "fold": fold, "metric": metric, "value": rng.normal(centre, 0.02)}
        for model, centre in [("unet", 0.8), ("cevae", 0.7)]
        for fold in range(5)
        for metric in ["ap", "dice"]
    ]
    return pd.DataFrame(rows)


def test_summarise_folds_on_the_long_results_table():
    df = _long_results()
    table = summarise_folds(df, by=["model", "metric"], metric_cols=["value"])
    assert list(table.columns) == ["model", "metric", "mean", "ci_low", "ci_high", "n", "std"]
    assert len(table) == 4 and set(table["n"]) == {5}
    row = table[(table["model"] == "unet") & (table["metric"] == "ap")].iloc[0]
    values = df[(df["model"] == "unet") & (df["metric"] == "ap")]["value"].to_numpy()
    low, high = stats.t.interval(0.95, 4, loc=values.mean(), scale=stats.sem(values))
    assert (row["mean"], row["ci_low"], row["ci_high"]) == pytest.approx((values.mean(), low, high))


def test_summarise_folds_on_a_wide_table():
    wide = _long_results().pivot_table(index=["model", "fold"], columns="metric", values="value").reset_index()
    table = summarise_folds(wide, by=["model"], metric_cols=["ap", "dice"])
    assert list(table.columns) == ["model", "metric", "mean", "ci_low", "ci_high", "n", "std"]
    assert table[["model", "metric"]].values.tolist() == [
        ["cevae", "ap"],
        ["cevae", "dice"],
        ["unet", "ap"],
        ["unet", "dice"],
    ]


def test_summarise_folds_names_missing_columns():
    with pytest.raises(ConfigError, match="'split'"):
        summarise_folds(_long_results(), by=["model", "split"], metric_cols=["value"])
