"""The registry's selection rule on hand-made results tables (closed-form means)."""

import pandas as pd
import pytest

from porelab.errors import ConfigError
from porelab.sweep.cv.selection import BASELINE, select_model


def _table(values):
    """values: {(model, fold, split, scan): {metric: value}} -> long rows."""
    return pd.DataFrame(
        [
            {"model": m, "fold": f, "split": split, "scan": scan, "metric": k, "value": v}
            for (m, f, split, scan), metrics in values.items()
            for k, v in metrics.items()
        ]
    )


def _results():
    rows = {}
    # per fold: one validation scan and two degraded copies of it; the challenging cube beside
    dice = {
        "clean-ap-star": ([0.95, 0.95], [0.30, 0.30]),  # best on clean scans, poor degraded
        "steady": ([0.85, 0.80], [0.70, 0.75]),  # the mean over all six scans is best
        "test-fitted": ([0.50, 0.50], [0.40, 0.40]),  # best on the challenging scan only
        "vae": ([0.99, 0.99], [0.99, 0.99]),  # raw score: not what is served
        "vae (post-processed)": ([0.60, 0.60], [0.50, 0.50]),
        BASELINE: ([1.0, 1.0], [1.0, 1.0]),
    }
    for model, (clean, degraded) in dice.items():
        for fold in range(2):
            rows[(model, fold, "validation", f"c{fold}")] = {
                "dice": clean[fold],
                "ap": clean[fold] + 0.04,
                "false_calls": 10.0 * (1 - clean[fold]),
            }
            for copy in range(2):
                rows[(model, fold, "degraded", f"c{fold}-d{copy}")] = {
                    "dice": degraded[fold],
                    "ap": degraded[fold],
                    "false_calls": 10.0 * (1 - degraded[fold]),
                }
            rows[(model, fold, "challenging", "cube")] = {
                "dice": 0.99 if model == "test-fitted" else 0.1,
                "ap": 0.1,
                "false_calls": 0.0,
            }
    return _table(rows)


def test_the_mean_over_validation_and_degraded_scans_picks_the_model():
    selection = select_model(_results(), "dice")
    # steady: (0.85 + 2 * 0.70 + 0.80 + 2 * 0.75) / 6 = 0.758; clean-ap-star: (0.95 + 2 * 0.30) * 2 / 6 = 0.517
    assert selection.model == "steady"
    assert selection.score == pytest.approx((0.85 + 2 * 0.70 + 0.80 + 2 * 0.75) / 6)
    assert selection.runner_up == "vae (post-processed)"
    assert selection.runner_up_score == pytest.approx((0.60 + 2 * 0.50) / 3)
    assert selection.fold == 1  # fold 1: (0.80 + 2 * 0.75) / 3 = 0.767 > fold 0: 0.75
    assert selection.scans == 6
    reason = selection.reason()
    assert "steady" in reason and "runner-up vae (post-processed)" in reason and "never the challenging" in reason


def test_selection_scans_of_other_parts_outweigh_easy_cylinders():
    # per fold: one validation cylinder, and the same two selection scans of other parts
    dice = {"cylinder-only": (0.90, [0.40, 0.50]), "generalises": (0.80, [0.85, 0.75])}
    rows = {}
    for model, (cylinder, others) in dice.items():
        for fold in range(2):
            rows[(model, fold, "validation", f"c{fold}")] = {"dice": cylinder}
            for i, value in enumerate(others):
                rows[(model, fold, "selection", f"part{i}")] = {"dice": value}
    selection = select_model(_table(rows), "dice")
    assert selection.model == "generalises"
    assert selection.score == pytest.approx((0.80 + 0.85 + 0.75) / 3)
    assert selection.runner_up_score == pytest.approx((0.90 + 0.40 + 0.50) / 3)
    assert selection.scans == 4 and "selection scans" in selection.reason()


def test_clean_validation_ap_alone_would_pick_another_model():
    results = _results()
    clean_ap = results[(results.split == "validation") & (results.metric == "ap")]
    assert (
        clean_ap[clean_ap.model.isin(["clean-ap-star", "steady"])].groupby("model").value.mean().idxmax()
        == "clean-ap-star"
    )
    assert select_model(results, "ap").model == "steady"


def test_lower_is_better_metrics_are_minimised():
    # false calls = 10 (1 - dice): the fewest false calls is the highest Dice
    assert select_model(_results(), "false_calls").model == "steady"


def test_an_unknown_metric_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"--select-metric 'recall'.*expected one of \['ap', 'dice', 'false_calls'\]"):
        select_model(_results(), "recall")
