"""Hit/miss POD: the fit against a known logistic curve, scikit-learn's unpenalised logistic
regression and a numerical Hessian; a90/95 and its coverage; degenerate data; a volume."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, log_expit, logit
from sklearn.linear_model import LogisticRegression

from porelab.errors import ConfigError
from porelab.evaluate import PODConfig, PODStatus, fit_pod, hit_miss, hits, probability_of_detection
from porelab.label import pore_table

# the true curve: a50 = 3 voxels, a90 = 5 voxels
TRUE_A50, TRUE_A90 = 3.0, 5.0
TRUE_SLOPE = logit(0.9) / np.log(TRUE_A90 / TRUE_A50)
TRUE_INTERCEPT = -TRUE_SLOPE * np.log(TRUE_A50)


def _simulate(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    sizes = np.exp(rng.uniform(np.log(1.0), np.log(12.0), n))
    return sizes, rng.random(n) < expit(TRUE_INTERCEPT + TRUE_SLOPE * np.log(sizes))


@pytest.fixture(scope="module")
def many_pores():
    sizes, hit = _simulate(np.random.default_rng(2024), 3000)
    return sizes, hit, fit_pod(sizes, hit)


def test_fit_recovers_the_known_curve(many_pores):
    # Monte-Carlo spread at n = 3000: a50 1.4 %, a90 2.2 %, slope 3.5 %, intercept 3.9 %
    _, _, result = many_pores
    assert result.status is PODStatus.OK
    assert result.a50 == pytest.approx(TRUE_A50, rel=0.05)
    assert result.a90 == pytest.approx(TRUE_A90, rel=0.08)
    assert result.slope == pytest.approx(TRUE_SLOPE, rel=0.12)
    assert result.intercept == pytest.approx(TRUE_INTERCEPT, rel=0.15)
    assert result.mu == pytest.approx(np.log(result.a50)) and result.sigma == pytest.approx(1 / result.slope)


def test_fit_is_the_maximum_likelihood_of_scikit_learn(many_pores):
    sizes, hit, result = many_pores
    reference = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000)
    reference.fit(np.log(sizes)[:, None], hit)
    assert result.intercept == pytest.approx(reference.intercept_[0], abs=1e-4)
    assert result.slope == pytest.approx(reference.coef_[0, 0], abs=1e-4)


def test_covariance_is_the_inverse_of_the_numerical_hessian(many_pores):
    sizes, hit, result = many_pores
    x = np.log(sizes)

    def negative_loglik(beta):
        eta = beta[0] + beta[1] * x
        return -np.sum(np.where(hit, log_expit(eta), log_expit(-eta)))

    beta, h = np.array([result.intercept, result.slope]), 1e-4
    hessian = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            di, dj = np.eye(2)[i] * h, np.eye(2)[j] * h
            hessian[i, j] = (
                negative_loglik(beta + di + dj)
                - negative_loglik(beta + di - dj)
                - negative_loglik(beta - di + dj)
                + negative_loglik(beta - di - dj)
            ) / (4 * h * h)
    np.testing.assert_allclose(result.covariance, np.linalg.inv(hessian), rtol=1e-3)


def test_a90_95_is_where_the_lower_bound_reaches_0_9(many_pores):
    _, _, result = many_pores
    assert result.a90_95 > result.a90
    assert result.pod(np.array([result.a50, result.a90])) == pytest.approx([0.5, 0.9])
    lower, upper = result.bounds(np.array([result.a90_95]))
    assert lower[0] == pytest.approx(0.9, abs=1e-9) and upper[0] > 0.9
    curve = result.curve(points=30)
    assert list(curve.columns) == ["size", "pod", "pod_lower", "pod_upper"]
    assert np.all(curve["pod_lower"] <= curve["pod"]) and np.all(curve["pod"] <= curve["pod_upper"])
    assert curve["size"].iloc[-1] >= result.a90_95 and not result.extrapolated


def test_a90_95_covers_the_true_a90_about_95_percent_of_the_time():
    # 200 inspections of 200 pores each; the binomial spread of the rate is ~1.5 %
    rng = np.random.default_rng(11)
    results = [fit_pod(*_simulate(rng, 200)) for _ in range(200)]
    assert all(r.status is PODStatus.OK for r in results)
    coverage = np.mean([r.a90_95 >= TRUE_A90 for r in results])
    assert 0.90 <= coverage <= 0.99


@pytest.mark.parametrize(
    "sizes, hit, status",
    [
        ([2.0, 3.0, 4.0], [True, True, True], PODStatus.ALL_HIT),
        ([2.0, 3.0, 4.0], [False, False, False], PODStatus.NONE_HIT),
        ([1.0, 2.0, 3.0, 4.0, 5.0], [False, False, True, True, True], PODStatus.SEPARATED),
        ([1.0, 2.0, 2.0, 4.0], [False, False, True, True], PODStatus.SEPARATED),  # tie at 2: quasi
        ([3.0], [True], PODStatus.TOO_FEW),
        ([3.0, 3.0, 3.0], [True, False, True], PODStatus.TOO_FEW),
        ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [True, True, False, True, False, False], PODStatus.DECREASING),
    ],
)
def test_degenerate_data_is_flagged_not_fitted(sizes, hit, status):
    result = fit_pod(np.array(sizes), np.array(hit))
    assert result.status is status and not result.fitted
    assert np.isnan(result.a50) and np.isnan(result.a90) and np.isnan(result.a90_95)
    report = result.to_dict()
    assert report["status"] == status.value and report["a90"] is None
    json.dumps(report, allow_nan=False)
    with pytest.raises(ConfigError, match=status.value):
        result.curve()


def test_a_weak_slope_is_fitted_but_cannot_demonstrate_a90_95():
    sizes = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    hit = np.array([False, True, False, False, True, False, True, True])
    result = fit_pod(sizes, hit)
    assert result.status is PODStatus.A90_95_NOT_REACHED and result.fitted
    assert np.isfinite(result.a90) and np.isnan(result.a90_95)
    assert len(result.curve(points=10)) == 10


def test_a_lower_bound_crossing_past_the_float_range_means_not_reached():
    """Few hits and a weak slope: the 95 % lower bound reaches 0.9 only at ln a > 709, where
    exp overflowed (a degraded scan in jobs/degrade.py raised OverflowError here)."""
    from porelab.evaluate.pod import _lower_bound_crossing

    sizes = np.geomspace(1, 20, 50)
    hit = np.random.default_rng(238).random(50) < 0.15  # found by search over seeds
    result = fit_pod(sizes, hit)
    crossing = _lower_bound_crossing(result.intercept, result.slope, result.covariance, 1.6448536269514722)
    assert np.isfinite(crossing) and crossing > np.log(np.finfo(float).max)
    assert result.fitted and np.isfinite(result.a50) and np.isfinite(result.a90)
    assert result.status is PODStatus.A90_95_NOT_REACHED and np.isnan(result.a90_95)


def test_bad_sizes_raise_clear_errors():
    with pytest.raises(ConfigError, match="sizes > 0"):
        fit_pod(np.array([0.0, 2.0]), np.array([True, False]))
    with pytest.raises(ConfigError, match="hit/miss"):
        fit_pod(np.array([1.0, 2.0]), np.array([True]))
    with pytest.raises(ConfigError, match="confidence"):
        PODConfig(confidence=1.5)
    with pytest.raises(ConfigError, match="confidence"):
        fit_pod(np.array([1.0, 2.0]), np.array([True, False]), confidence=0.3)


def _cubes() -> np.ndarray:
    labels = np.zeros((40, 40, 40), dtype=np.int32)
    for i, edge in enumerate([1, 2, 3, 4, 5, 6], start=1):
        z = 5 * i
        labels[z : z + edge, 10 : 10 + edge, 10 : 10 + edge] = i
    return labels


def test_probability_of_detection_on_a_volume():
    labels = _cubes()
    table = pore_table(labels).table
    pred = np.isin(labels, [3, 4, 5, 6])  # finds the cubes of edge >= 3
    pred[30:33, 30:33, 30:33] = True  # two false calls, one outside the inspected mask
    pred[2, 35, 35] = True
    inspected = np.ones(labels.shape, dtype=bool)
    inspected[:5] = False

    table_hits = hit_miss(pred, labels, table)
    expected = hits(pred, labels).reindex(table["id"]).to_numpy()
    assert table_hits["hit"].tolist() == expected.tolist() == [False, False, True, True, True, True]
    assert table_hits["size"].tolist() == pytest.approx(table["equivalent_diameter_vox"].tolist())

    result = probability_of_detection(pred, labels, table, voxel_size=(0.1, 0.1, 0.1), inspected_mask=inspected)
    assert result.status is PODStatus.SEPARATED  # a size splits misses from hits exactly
    assert (result.n_pores, result.n_hits) == (6, 4)
    assert result.false_calls == 1
    assert result.inspected_mm3 == pytest.approx(35 * 40 * 40 * 0.001)
    assert result.false_calls_per_cm3 == pytest.approx(1 / (35 * 40 * 40 * 1e-6))
    by_mm = probability_of_detection(pred, labels, table, config=PODConfig(size_column="equivalent_diameter_mm"))
    assert by_mm.size_unit == "mm" and by_mm.false_calls == 2


def test_hit_miss_needs_the_size_column():
    labels = _cubes()
    with pytest.raises(ConfigError, match="missing"):
        hit_miss(labels > 0, labels, pd.DataFrame({"id": [1]}))


def test_a_size_beyond_the_largest_pore_tested_is_not_reached():
    # a shallow curve on pores of 2-6 voxels: a50 inside the tested sizes, a90 far beyond them
    rng = np.random.default_rng(11)
    sizes = rng.uniform(2.0, 6.0, 400)
    hit = (rng.random(400) < expit(-1.0 + 1.0 * np.log(sizes))).astype(float)
    result = fit_pod(sizes, hit)
    assert result.fitted and result.a50 < result.size_max < result.a90
    assert result.within_tested(result.a50) == result.a50
    assert result.within_tested(result.a90) == np.inf
    assert np.isnan(result.within_tested(np.nan))  # no fit stays no fit
