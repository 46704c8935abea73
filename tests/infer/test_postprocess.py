"""Post-processing (Iuso et al. eq. 2-3): the exact L1 lambda, recovery of (lambda, sigma) on
a synthetic map built from the model itself, and its effect at the surface and in pores."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage, optimize

from porelab.errors import ConfigError, VolumeError
from porelab.infer.postprocess import (
    PostprocessConfig,
    best_lambda,
    edge_map,
    fit_edge_model,
    gradient_l1,
    postprocess,
    weighted_median,
)

LAMBDA0, SIGMA0 = 0.7, 2.0


@pytest.fixture(scope="module")
def synthetic():
    """A cylinder (1.0 in 0.0) with blurred walls as V, pores as an extra score, and
    A = LAMBDA0 * G_SIGMA0(|grad V|_1) + 0.4 * pores + |noise|."""
    n = 64
    z, y, x = np.mgrid[:n, :n, :n]
    part = ((y - 32) ** 2 + (x - 32) ** 2 < 24**2).astype(np.float32)
    v = ndimage.gaussian_filter(part, 1.0)
    rng = np.random.default_rng(0)
    pores = np.zeros(v.shape, dtype=bool)
    for c in rng.integers(20, 44, size=(8, 3)):
        pores |= (z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2 <= 2**2
    edges = ndimage.gaussian_filter(sum(np.abs(np.gradient(v, axis=a)) for a in range(3)), SIGMA0)
    anomaly = LAMBDA0 * edges + 0.4 * pores + np.abs(rng.normal(0, 0.003, v.shape))
    return anomaly.astype(np.float32), v, pores, part


def test_weighted_median_minimises_the_weighted_l1_sum():
    rng = np.random.default_rng(1)
    for size in (1, 2, 7, 1000, 5000):
        values, weights = rng.normal(size=size), rng.random(size)
        objective = [np.sum(weights * np.abs(values - v)) for v in values]
        assert np.sum(weights * np.abs(values - weighted_median(values, weights))) == pytest.approx(min(objective))


def test_best_lambda_matches_a_numerical_l1_search():
    rng = np.random.default_rng(2)
    edges = rng.random(4000)
    anomaly = 0.3 * edges + np.where(rng.random(4000) < 0.05, 1.0, 0.0) + rng.normal(0, 0.01, 4000)
    reference = optimize.minimize_scalar(
        lambda lam: np.abs(anomaly - lam * edges).sum(), bounds=(0, 2), method="bounded", options={"xatol": 1e-8}
    ).x
    assert best_lambda(anomaly, edges) == pytest.approx(reference, abs=1e-4)
    assert best_lambda(anomaly, np.zeros(4000)) == 0.0


def test_edge_map_is_the_smoothed_l1_gradient_norm():
    v = np.random.default_rng(3).random((12, 13, 14)).astype(np.float32)
    reference = np.abs(np.gradient(v, axis=0)) + np.abs(np.gradient(v, axis=1)) + np.abs(np.gradient(v, axis=2))
    np.testing.assert_allclose(gradient_l1(v), reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        edge_map(v, 1.5), ndimage.gaussian_filter(reference, 1.5, mode="nearest", truncate=3.0), rtol=1e-4, atol=1e-6
    )


def test_fit_recovers_lambda_and_sigma(synthetic):
    anomaly, v, _, _ = synthetic
    fit = fit_edge_model(anomaly, v)
    assert fit.sigma == pytest.approx(SIGMA0, rel=0.05)
    assert fit.lam == pytest.approx(LAMBDA0, rel=0.05)
    exact = fit_edge_model(anomaly, v, PostprocessConfig(search_block=1))
    assert exact.sigma == pytest.approx(SIGMA0, rel=0.03)


def test_postprocessing_lowers_the_surface_and_keeps_the_pores(synthetic):
    anomaly, v, pores, part = synthetic
    cleaned, _ = postprocess(anomaly, v)
    surface = ndimage.binary_dilation(part, iterations=3) & ~ndimage.binary_erosion(part, iterations=3)
    assert cleaned[surface].mean() < 0.1 * anomaly[surface].mean()
    assert cleaned[pores].mean() > 0.8 * 0.4
    assert (cleaned >= 0).all()


def test_bad_inputs_name_the_problem():
    with pytest.raises(VolumeError, match="same shape"):
        postprocess(np.zeros((4, 4, 4)), np.zeros((4, 4, 5)))
    with pytest.raises(VolumeError, match="finite"):
        postprocess(np.full((4, 4, 4), np.nan), np.zeros((4, 4, 4)))
    with pytest.raises(ConfigError, match="sigma_range"):
        PostprocessConfig(sigma_range=(2.0, 1.0))
