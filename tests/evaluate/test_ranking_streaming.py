"""The streaming ScoreHistogram against scikit-learn's exact metrics on inputs it can hold."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    jaccard_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from porelab.errors import ConfigError
from porelab.evaluate import ScoreHistogram

TOLERANCE = 1e-3  # the bound between the histogram and the exact metrics


@pytest.fixture(scope="module")
def scored():
    """Continuous scores of a 5 %-prevalence problem, and an object mask keeping ~80 %."""
    rng = np.random.default_rng(7)
    labels = rng.random(300_000) < 0.05
    scores = np.where(labels, rng.beta(4, 2, labels.size), rng.beta(2, 5, labels.size))
    mask = rng.random(labels.size) < 0.8
    return scores, labels, mask


@pytest.fixture(scope="module")
def histogram(scored):
    scores, labels, mask = scored
    hist = ScoreHistogram(bins=10_000)
    for part in np.array_split(np.arange(scores.size), 7):  # streamed in batches
        hist.add(scores[part], labels[part], mask=mask[part])
    return hist


def test_memory_is_the_bins_whatever_the_input(histogram):
    assert histogram.positives.shape == (10_000,) and histogram.negatives.shape == (10_000,)


def test_ap_and_auc_inside_the_mask_match_scikit_learn(scored, histogram):
    scores, labels, mask = scored
    assert histogram.positives.sum() + histogram.negatives.sum() == mask.sum()
    assert histogram.average_precision() == pytest.approx(
        average_precision_score(labels[mask], scores[mask]), abs=TOLERANCE
    )
    assert histogram.roc_auc() == pytest.approx(roc_auc_score(labels[mask], scores[mask]), abs=TOLERANCE)


def test_dice_and_iou_at_a_fixed_threshold_match_scikit_learn(scored, histogram):
    scores, labels, mask = scored
    point = histogram.at_threshold(0.5)
    called = scores[mask] >= 0.5
    assert point.threshold == 0.5
    assert point.dice == pytest.approx(f1_score(labels[mask], called), abs=TOLERANCE)
    assert point.iou == pytest.approx(jaccard_score(labels[mask], called), abs=TOLERANCE)
    assert point.tp + point.fn == labels[mask].sum()


def test_a_threshold_between_edges_snaps_to_the_nearest_edge(histogram):
    assert histogram.edge(0.50003) == pytest.approx(0.5)
    assert histogram.at_threshold(0.50003).threshold == pytest.approx(0.5)
    assert histogram.at_threshold(-3.0).fn == 0  # below the range: everything is called


def test_best_dice_matches_the_best_f1_over_scikit_learns_thresholds(scored, histogram):
    scores, labels, mask = scored
    precision, recall, thresholds = precision_recall_curve(labels[mask], scores[mask])
    with np.errstate(invalid="ignore"):
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    best = histogram.best_dice()
    assert best.dice == pytest.approx(f1.max(), abs=TOLERANCE)
    called = scores[mask] >= best.threshold
    assert best.iou == pytest.approx(jaccard_score(labels[mask], called), abs=TOLERANCE)
    assert best.iou == pytest.approx(best.dice / (2 - best.dice))


@pytest.mark.parametrize("max_fpr", [0.001, 0.01, 0.1])
def test_tpr_at_fixed_fpr_matches_scikit_learns_roc(scored, histogram, max_fpr):
    scores, labels, mask = scored
    fpr, tpr, _ = roc_curve(labels[mask], scores[mask], drop_intermediate=False)
    point = histogram.tpr_at_fpr(max_fpr)
    assert point.fpr <= max_fpr and point.tpr == point.recall
    assert point.recall == pytest.approx(tpr[fpr <= max_fpr].max(), abs=TOLERANCE)


def test_curves_are_downsampled_points_of_the_exact_curves(scored, histogram):
    scores, labels, mask = scored
    s, y = scores[mask], labels[mask]
    roc, pr = histogram.roc_curve(points=50), histogram.pr_curve(points=50)
    assert roc.x.size <= 50 and pr.x.size <= 50
    assert (roc.x[0], roc.y[0], roc.x[-1], roc.y[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(roc.x) >= 0) and np.all(np.diff(pr.x) >= 0)
    for threshold, fpr, tpr in zip(roc.thresholds[1:-1], roc.x[1:-1], roc.y[1:-1]):
        assert fpr == pytest.approx(np.mean(s[~y] >= threshold), abs=TOLERANCE)
        assert tpr == pytest.approx(np.mean(s[y] >= threshold), abs=TOLERANCE)
    for threshold, recall, precision in zip(pr.thresholds[1:], pr.x[1:], pr.y[1:]):
        called = s >= threshold
        assert recall == pytest.approx(np.mean(called[y]), abs=TOLERANCE)
        assert precision == pytest.approx(np.mean(y[called]), abs=TOLERANCE)
    assert set(roc.to_dict()) == {"fpr", "tpr", "threshold"}


def test_merged_histograms_equal_one_histogram_of_everything(scored, histogram):
    scores, labels, mask = scored
    halves = [ScoreHistogram(bins=10_000), ScoreHistogram(bins=10_000)]
    halves[0].add(scores[:1000], labels[:1000], mask=mask[:1000])
    halves[1].add(scores[1000:], labels[1000:], mask=mask[1000:])
    halves[0].merge(halves[1])
    assert np.array_equal(halves[0].positives, histogram.positives)
    assert np.array_equal(halves[0].negatives, histogram.negatives)


def test_bad_requests_raise_clear_errors(histogram):
    with pytest.raises(ConfigError, match="bins"):
        histogram.merge(ScoreHistogram(bins=10))
    with pytest.raises(ConfigError, match="max_fpr"):
        histogram.tpr_at_fpr(1.5)
    with pytest.raises(ConfigError, match="no positive"):
        ScoreHistogram(bins=10).best_dice()
    with pytest.raises(ConfigError, match="threshold"):
        histogram.at_threshold(float("nan"))
