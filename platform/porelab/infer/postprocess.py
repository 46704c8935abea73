"""Post-processing of reconstruction-error maps (Iuso et al., eq. 2-3).

An autoencoder reconstructs sharp part surfaces slightly blurred, so its error map A is high
along every surface, in proportion to the local edge strength. The edge model
E_sigma = G_sigma(|grad V_hat|_1) (a Gaussian-smoothed L1 norm of the gradient of the
reconstruction V_hat) is fitted to A per volume and subtracted:

    (lambda, sigma) = argmin  sum |A - lambda * E_sigma|          (eq. 3)
    A_pores         = max(0, A - lambda * E_sigma)                 (eq. 2)

What is minimised and how:
- For a fixed sigma the L1 objective in lambda is convex and piecewise linear:
  sum |a_i - lambda e_i| = sum e_i |a_i / e_i - lambda| (voxels with e_i = 0 add a constant),
  so its exact minimiser is the weighted median of the ratios a_i / e_i with weights e_i.
  Pores are sparse outliers of the edge model; L1 ignores them where least squares would not.
- sigma is a 1-D search: a grid in log sigma, then bounded Brent refinement
  (`scipy.optimize.minimize_scalar`) between the grid neighbours of the best point.
- The search runs on a copy of A and |grad V_hat|_1 averaged over b^3 blocks, with
  sigma / b on the coarse grid: smoothing commutes with block averaging up to sampling,
  and each evaluation costs b^3 times less. The final lambda is refitted at full resolution
  (on every b-th voxel along each axis) for the chosen sigma.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, optimize

from porelab.errors import ConfigError, VolumeError

_SMALL = 512  # below this many candidates a sort is cheaper than more partition rounds
_TRUNCATE = 3.0  # Gaussian kernels are cut at 3 sigma: below 0.5 % of the peak beyond


@dataclass(frozen=True)
class PostprocessConfig:
    """Search range and speed/accuracy settings of the (lambda, sigma) fit.

    sigma_range: smallest and largest sigma (voxels) searched; grid_points: log-spaced grid
    points; search_block: b, the block size of the coarse search grid (1 = full resolution);
    sigma_tolerance: relative precision of sigma in the refinement.
    """

    sigma_range: tuple[float, float] = (0.5, 8.0)
    grid_points: int = 7
    search_block: int = 2
    sigma_tolerance: float = 0.01

    def __post_init__(self) -> None:
        low, high = self.sigma_range
        if not 0 < low < high:
            raise ConfigError(
                f"PostprocessConfig.sigma_range must be (low, high) with 0 < low < high, got {self.sigma_range}"
            )
        if self.grid_points < 3 or self.search_block < 1 or self.sigma_tolerance <= 0:
            raise ConfigError(
                "PostprocessConfig: grid_points must be >= 3, search_block >= 1 and "
                f"sigma_tolerance > 0, got {self.grid_points}, {self.search_block}, "
                f"{self.sigma_tolerance}"
            )


@dataclass(frozen=True)
class EdgeFit:
    """Fitted edge model: A ~ lam * G_sigma(|grad V_hat|_1); `residual` is the mean |A - fit|."""

    lam: float
    sigma: float
    residual: float


def gradient_l1(volume: np.ndarray) -> np.ndarray:
    """|dV/dz| + |dV/dy| + |dV/dx| with central differences (one-sided at the borders)."""
    volume = np.asarray(volume, dtype=np.float32)
    total = np.zeros_like(volume)
    for axis in range(volume.ndim):
        total += np.abs(np.gradient(volume, axis=axis))
    return total


def edge_map(v_hat: np.ndarray, sigma: float) -> np.ndarray:
    """E_sigma = G_sigma(|grad V_hat|_1)."""
    return _smooth(gradient_l1(v_hat), sigma)


def best_lambda(anomaly: np.ndarray, edges: np.ndarray) -> float:
    """Exact minimiser over lambda >= 0 of sum |anomaly - lambda * edges| (weighted median)."""
    a, e = np.ravel(anomaly), np.ravel(edges)
    keep = e > 0
    if not keep.any():
        return 0.0
    return max(weighted_median(a[keep] / e[keep], e[keep]), 0.0)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Smallest v with sum(weights[values <= v]) >= half the total weight.

    Written as a quickselect (`np.argpartition` halves the candidates each round, O(n) in
    all) because a full sort per sigma was most of the search time.
    """
    values, weights = np.asarray(values), np.asarray(weights, dtype=np.float64)
    target, below = 0.5 * float(weights.sum()), 0.0
    while values.size > _SMALL:
        middle = values.size // 2
        order = np.argpartition(values, middle)
        left, right = order[:middle], order[middle:]
        left_weight = float(weights[left].sum())
        if below + left_weight >= target:
            values, weights = values[left], weights[left]
        else:
            below += left_weight
            values, weights = values[right], weights[right]
    order = np.argsort(values, kind="stable")
    cumulative = below + np.cumsum(weights[order])
    index = min(int(np.searchsorted(cumulative, target)), values.size - 1)
    return float(values[order][index])


def fit_edge_model(anomaly: np.ndarray, v_hat: np.ndarray, config: PostprocessConfig = PostprocessConfig()) -> EdgeFit:
    """(lambda, sigma) minimising sum |A - lambda * G_sigma(|grad V_hat|_1)| (see the module doc)."""
    anomaly, v_hat = _checked(anomaly, v_hat)
    block = config.search_block
    gradient = gradient_l1(v_hat)
    coarse_a, coarse_g = _block_mean(anomaly, block), _block_mean(gradient, block)

    def objective(log_sigma: float) -> float:
        edges = _smooth(coarse_g, np.exp(log_sigma) / block)
        return float(np.abs(coarse_a - best_lambda(coarse_a, edges) * edges).mean())

    sigma = _search_sigma(objective, config)
    edges = _smooth(gradient, sigma)
    stride = (slice(None, None, block),) * anomaly.ndim
    lam = best_lambda(anomaly[stride], edges[stride])
    return EdgeFit(lam, sigma, float(np.abs(anomaly - lam * edges).mean()))


def suppress_edges(anomaly: np.ndarray, v_hat: np.ndarray, fit: EdgeFit) -> np.ndarray:
    """A_pores = max(0, A - lambda * G_sigma(|grad V_hat|_1)) for a given fit (eq. 2)."""
    anomaly, v_hat = _checked(anomaly, v_hat)
    return np.maximum(anomaly - np.float32(fit.lam) * edge_map(v_hat, fit.sigma), 0.0)


def postprocess(
    anomaly: np.ndarray, v_hat: np.ndarray, config: PostprocessConfig = PostprocessConfig()
) -> tuple[np.ndarray, EdgeFit]:
    """Fit (lambda, sigma) on this volume, then subtract the edge model: (A_pores, fit)."""
    fit = fit_edge_model(anomaly, v_hat, config)
    return suppress_edges(anomaly, v_hat, fit), fit


def _search_sigma(objective, config: PostprocessConfig) -> float:
    grid = np.linspace(*np.log(config.sigma_range), config.grid_points)
    values = [objective(x) for x in grid]
    best = int(np.argmin(values))
    low, high = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    result = optimize.minimize_scalar(
        objective, bounds=(low, high), method="bounded", options={"xatol": config.sigma_tolerance}
    )
    chosen = result.x if result.fun <= values[best] else grid[best]
    return float(np.exp(chosen))


def _smooth(array: np.ndarray, sigma: float) -> np.ndarray:
    return ndimage.gaussian_filter(array, sigma, mode="nearest", truncate=_TRUNCATE)


def _block_mean(array: np.ndarray, block: int) -> np.ndarray:
    """Mean over non-overlapping block^d cells (the remainder at the high end is dropped)."""
    if block == 1:
        return array
    trimmed = array[tuple(slice(0, (n // block) * block) for n in array.shape)]
    shape = [size for n in trimmed.shape for size in (n // block, block)]
    return trimmed.reshape(shape).mean(axis=tuple(range(1, 2 * array.ndim, 2)), dtype=np.float32)


def _checked(anomaly: np.ndarray, v_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    anomaly = np.asarray(anomaly, dtype=np.float32)
    v_hat = np.asarray(v_hat, dtype=np.float32)
    if anomaly.shape != v_hat.shape or anomaly.ndim not in (2, 3):
        raise VolumeError(
            f"post-processing: the anomaly map {anomaly.shape} and the reconstruction "
            f"{v_hat.shape} must be 2D or 3D arrays of the same shape"
        )
    if not (np.isfinite(anomaly).all() and np.isfinite(v_hat).all()):
        raise VolumeError("post-processing: the anomaly map and the reconstruction must be finite")
    return anomaly, v_hat
