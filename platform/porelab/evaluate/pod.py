"""Probability of detection (POD) from hit/miss data, as MIL-HDBK-1823A asks for it.

Each true pore is a hit or a miss (the rule of `hits`). The POD curve
POD(a) = 1 / (1 + exp(-(b0 + b1 ln a))) is fitted by maximum likelihood on the pores'
equivalent diameters a. In the handbook's parameters, mu = -b0 / b1 and sigma = 1 / b1:
a50 = exp(mu) and a90 = exp(mu + sigma logit(0.9)).

a90/95 is the size at which the one-sided lower confidence bound (95 % by default) of the POD
curve reaches 0.9, so a90/95 >= a90. The bound is the Wald bound on the linear predictor:
eta(x) = b0 + b1 x with x = ln a has variance [1 x] C [1 x]^T, C the inverse Fisher
information at the fit, and POD_low(a) = expit(eta - z se(eta)), z the normal quantile of the
confidence. This is the delta-method bound of the handbook's (mu, sigma) form too: eta is
(x - mu) / sigma, a reparametrisation of the same line.

Degenerate data (too few pores, all hit, none hit, sizes that separate hits from misses
perfectly, a POD that falls with size) give no maximum-likelihood curve; the result says so
in `status` and leaves the sizes NaN instead of reporting numbers from a diverged fit.

Hand-written: no maintained Python package ships MIL-HDBK-1823A hit/miss POD (the handbook's
companion software, mh1823, is R), and the two-parameter fit with its covariance is a short
Newton iteration. scikit-learn's LogisticRegression penalises by default and reports no
covariance; statsmodels is not a dependency.
"""

from __future__ import annotations

import enum
import math
import sys
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from scipy.stats import norm

from porelab.errors import ConfigError
from porelab.evaluate.detection import MIN_OVERLAP, false_calls, hits

POD_LEVEL = 0.9
_MAX_NEWTON_STEPS = 100


class PODStatus(str, enum.Enum):
    OK = "ok"
    A90_95_NOT_REACHED = "a90_95_not_reached"  # fitted, but the lower bound stays below 0.9
    TOO_FEW = "too_few"  # fewer than two pores or a single size
    ALL_HIT = "all_hit"
    NONE_HIT = "none_hit"
    SEPARATED = "separated"  # one size splits misses from hits: the fit diverges
    DECREASING = "decreasing"  # fitted POD falls with size
    NOT_CONVERGED = "not_converged"


_MESSAGES = {
    PODStatus.OK: "fitted",
    PODStatus.A90_95_NOT_REACHED: "fitted, but the lower confidence bound never reaches 0.9: "
    "the data cannot demonstrate a90/95",
    PODStatus.TOO_FEW: "fewer than two pores or a single pore size: no curve can be fitted",
    PODStatus.ALL_HIT: "every pore was found: the POD curve is not identifiable (all sizes tested are above a90)",
    PODStatus.NONE_HIT: "no pore was found: the POD curve is not identifiable",
    PODStatus.SEPARATED: "one size separates all misses from all hits: the maximum-likelihood "
    "slope is infinite; test pores near that size",
    PODStatus.DECREASING: "the fitted POD falls as pores grow: a50/a90 are not meaningful",
    PODStatus.NOT_CONVERGED: "the maximum-likelihood fit did not converge",
}


def _check_confidence(confidence: float) -> None:
    if not 0.5 < confidence < 1.0:
        raise ConfigError(f"POD confidence: expected a fraction in (0.5, 1), got {confidence!r}")


@dataclass(frozen=True)
class PODConfig:
    """How pores are scored: `size_column` of the pore table is the size a; a pore is a hit
    when `min_overlap` of its voxels are predicted; false calls are `connectivity`-connected
    predicted components touching no true pore."""

    size_column: str = "equivalent_diameter_vox"
    min_overlap: float = MIN_OVERLAP
    confidence: float = 0.95
    connectivity: int = 6

    def __post_init__(self) -> None:
        _check_confidence(self.confidence)


@dataclass(frozen=True, eq=False)  # holds arrays, which a generated == cannot compare
class PODResult:
    """A fitted (or flagged) hit/miss POD curve, with the false calls of the same mask."""

    status: PODStatus
    n_pores: int
    n_hits: int
    size_min: float
    size_max: float
    intercept: float = math.nan
    slope: float = math.nan
    covariance: np.ndarray = field(default_factory=lambda: np.full((2, 2), np.nan))
    a50: float = math.nan
    a90: float = math.nan
    a90_95: float = math.nan
    confidence: float = 0.95
    size_unit: str = "vox"
    false_calls: int | None = None
    inspected_mm3: float | None = None

    @property
    def fitted(self) -> bool:
        return self.status in (PODStatus.OK, PODStatus.A90_95_NOT_REACHED)

    @property
    def message(self) -> str:
        return _MESSAGES[self.status]

    @property
    def mu(self) -> float:
        return -self.intercept / self.slope if self.fitted else math.nan

    @property
    def sigma(self) -> float:
        return 1.0 / self.slope if self.fitted else math.nan

    def within_tested(self, size: float) -> float:
        """`size` (a50, a90 or a90/95) as a verdict reports it: inf ("not reached") when it lies
        beyond the largest pore tested, where the curve only extrapolates (a flat fit of an
        anomaly model put a90 at 2e12 voxels); NaN stays NaN (no fit)."""
        return math.inf if size > self.size_max else size

    @property
    def extrapolated(self) -> bool:
        """True when a90/95 lies beyond the largest pore tested (the handbook warns)."""
        return bool(self.a90_95 > self.size_max)

    @property
    def false_calls_per_cm3(self) -> float:
        if self.false_calls is None or not self.inspected_mm3:
            return math.nan
        return self.false_calls / (self.inspected_mm3 / 1000.0)

    def pod(self, sizes: np.ndarray) -> np.ndarray:
        return expit(self._eta(sizes))

    def bounds(self, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One-sided lower and upper Wald bounds of the POD at `confidence`."""
        eta, se = self._eta(sizes), self._eta_se(sizes)
        z = norm.ppf(self.confidence)
        return expit(eta - z * se), expit(eta + z * se)

    def curve(self, points: int = 100, size_range: tuple[float, float] | None = None) -> pd.DataFrame:
        """POD and its confidence band at `points` log-spaced sizes (default: the tested range
        widened to include a90/95), for plots. Columns: size, pod, pod_lower, pod_upper."""
        if not self.fitted:
            raise ConfigError(f"POD curve: no curve to draw, the fit has status '{self.status.value}' ({self.message})")
        low, high = size_range or (self.size_min, _finite_max(self.size_max, self.a90_95))
        sizes = np.geomspace(low, high, points)
        lower, upper = self.bounds(sizes)
        return pd.DataFrame({"size": sizes, "pod": self.pod(sizes), "pod_lower": lower, "pod_upper": upper})

    def to_dict(self) -> dict[str, object]:
        numbers = {
            "n_pores": self.n_pores,
            "n_hits": self.n_hits,
            "size_min": self.size_min,
            "size_max": self.size_max,
            "intercept": self.intercept,
            "slope": self.slope,
            "mu": self.mu,
            "sigma": self.sigma,
            "a50": self.a50,
            "a90": self.a90,
            "a90_95": self.a90_95,
            "confidence": self.confidence,
            "false_calls": self.false_calls,
            "inspected_mm3": self.inspected_mm3,
            "false_calls_per_cm3": self.false_calls_per_cm3,
        }
        return {
            "status": self.status.value,
            "message": self.message,
            "size_unit": self.size_unit,
            "extrapolated": self.extrapolated,
            "covariance": [[_json_number(v) for v in row] for row in self.covariance.tolist()],
            **{name: _json_number(value) for name, value in numbers.items()},
        }

    def _eta(self, sizes: np.ndarray) -> np.ndarray:
        return self.intercept + self.slope * np.log(_positive(sizes, "POD sizes"))

    def _eta_se(self, sizes: np.ndarray) -> np.ndarray:
        x = np.log(_positive(sizes, "POD sizes"))
        c = self.covariance
        return np.sqrt(np.maximum(c[0, 0] + 2.0 * c[0, 1] * x + c[1, 1] * x * x, 0.0))


def hit_miss(
    pred_mask: np.ndarray,
    true_labels: np.ndarray,
    true_table: pd.DataFrame,
    size_column: str = "equivalent_diameter_vox",
    min_overlap: float = MIN_OVERLAP,
) -> pd.DataFrame:
    """One row per pore of `true_table`: id, size (from `size_column`) and hit."""
    missing = {"id", size_column} - set(true_table.columns)
    if missing:
        raise ConfigError(f"hit_miss true_table: missing columns {sorted(missing)}")
    found = hits(pred_mask, true_labels, min_overlap)
    ids = true_table["id"].to_numpy()
    return pd.DataFrame(
        {
            "id": ids,
            "size": true_table[size_column].to_numpy(dtype=float),
            "hit": found.reindex(ids, fill_value=False).to_numpy(dtype=bool),
        }
    )


def fit_pod(sizes: np.ndarray, hit: np.ndarray, confidence: float = 0.95, size_unit: str = "vox") -> PODResult:
    """Maximum-likelihood logistic POD on ln(size), with a50, a90 and a90/95."""
    sizes = _positive(np.asarray(sizes, dtype=float).ravel(), "POD sizes")
    hit = np.asarray(hit).ravel().astype(bool)
    _check_confidence(confidence)
    if hit.shape != sizes.shape:
        raise ConfigError(f"fit_pod: {sizes.size} sizes but {hit.size} hit/miss values")
    base = {
        "n_pores": int(sizes.size),
        "n_hits": int(hit.sum()),
        "confidence": confidence,
        "size_min": float(sizes.min()) if sizes.size else math.nan,
        "size_max": float(sizes.max()) if sizes.size else math.nan,
        "size_unit": size_unit,
    }
    status = _degenerate(sizes, hit)
    if status is not None:
        return PODResult(status, **base)
    beta, covariance, converged = _newton_logistic(np.log(sizes), hit)
    if not converged:
        return PODResult(PODStatus.NOT_CONVERGED, **base)
    if beta[1] <= 0:
        return PODResult(
            PODStatus.DECREASING, intercept=float(beta[0]), slope=float(beta[1]), covariance=covariance, **base
        )
    return _sized(beta, covariance, base)


def probability_of_detection(
    pred_mask: np.ndarray,
    true_labels: np.ndarray,
    true_table: pd.DataFrame,
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0),
    inspected_mask: np.ndarray | None = None,
    config: PODConfig = PODConfig(),
) -> PODResult:
    """Hit/miss POD of a predicted mask against labelled pores, plus its false calls per
    inspected volume (`inspected_mask`, e.g. the object mask; default the whole array)."""
    pred = np.asarray(pred_mask).astype(bool, copy=False)
    if inspected_mask is not None:
        inspected = np.asarray(inspected_mask).astype(bool, copy=False)
        if inspected.shape != pred.shape:
            raise ConfigError(f"POD inspected_mask shape {inspected.shape} differs from pred_mask {pred.shape}")
        pred, n_inspected = pred & inspected, int(inspected.sum())
    else:
        n_inspected = pred.size
    table = hit_miss(pred, true_labels, true_table, config.size_column, config.min_overlap)
    unit = "mm" if config.size_column.endswith("_mm") else "vox"
    result = fit_pod(table["size"].to_numpy(), table["hit"].to_numpy(), config.confidence, unit)
    calls = false_calls(pred, true_labels, config.connectivity)
    volume = n_inspected * float(np.prod(voxel_size))
    return replace(result, false_calls=calls, inspected_mm3=volume)


def _degenerate(sizes: np.ndarray, hit: np.ndarray) -> PODStatus | None:
    if sizes.size < 2 or np.unique(sizes).size < 2:
        return PODStatus.TOO_FEW
    if hit.all():
        return PODStatus.ALL_HIT
    if not hit.any():
        return PODStatus.NONE_HIT
    hit_sizes, miss_sizes = sizes[hit], sizes[~hit]
    if miss_sizes.max() <= hit_sizes.min() or hit_sizes.max() <= miss_sizes.min():
        return PODStatus.SEPARATED
    return None


def _newton_logistic(x: np.ndarray, hit: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Newton's method on the log-likelihood of logit P(hit) = b0 + b1 x, halving steps that
    lower it. Returns (b0, b1), the inverse Fisher information and whether it converged."""
    design, y = np.column_stack([np.ones_like(x), x]), hit.astype(float)
    beta = np.array([logit(y.mean()), 0.0])
    loglik = _log_likelihood(design, y, beta)
    try:
        for _ in range(_MAX_NEWTON_STEPS):
            step = np.linalg.solve(_information(design, beta), design.T @ (y - expit(design @ beta)))
            beta, loglik, improved = _halved_step(design, y, beta, step, loglik)
            if not improved or np.max(np.abs(step)) < 1e-10:
                break
        covariance = np.linalg.inv(_information(design, beta))
    except np.linalg.LinAlgError:
        return beta, np.full((2, 2), np.nan), False
    gradient = np.max(np.abs(design.T @ (y - expit(design @ beta))))
    return beta, covariance, bool(gradient < 1e-6 * y.size)


def _information(design: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Fisher information X^T W X with W = p (1 - p); the inverse is the Wald covariance."""
    p = expit(design @ beta)
    return design.T @ (design * (p * (1.0 - p))[:, None])


def _halved_step(
    design: np.ndarray, y: np.ndarray, beta: np.ndarray, step: np.ndarray, loglik: float
) -> tuple[np.ndarray, float, bool]:
    for _ in range(30):
        candidate = beta + step
        value = _log_likelihood(design, y, candidate)
        if value >= loglik:
            return candidate, value, True
        step = step / 2.0
    return beta, loglik, False


def _log_likelihood(design: np.ndarray, y: np.ndarray, beta: np.ndarray) -> float:
    eta = design @ beta
    # log expit(eta) = -log(1 + exp(-eta)), written with logaddexp to avoid overflow
    return float(-np.sum(np.where(y > 0.5, np.logaddexp(0.0, -eta), np.logaddexp(0.0, eta))))


_LARGEST_LOG = math.log(sys.float_info.max)


def _size(log_size: float) -> float:
    """exp(log_size); inf past the float range, where a weak fit on few hits can put the 95 %
    lower bound's crossing (a degraded scan in jobs/degrade.py did, and math.exp raised)."""
    return math.exp(log_size) if log_size < _LARGEST_LOG else math.inf


def _sized(beta: np.ndarray, covariance: np.ndarray, base: dict) -> PODResult:
    b0, b1 = float(beta[0]), float(beta[1])
    a50, a90 = _size(-b0 / b1), _size((logit(POD_LEVEL) - b0) / b1)
    x90_95 = _lower_bound_crossing(b0, b1, covariance, norm.ppf(base["confidence"]))
    a90_95 = _size(x90_95) if math.isfinite(x90_95) else math.inf
    reached = math.isfinite(a90_95)
    return PODResult(
        PODStatus.OK if reached else PODStatus.A90_95_NOT_REACHED,
        intercept=b0,
        slope=b1,
        covariance=covariance,
        a50=a50,
        a90=a90,
        a90_95=a90_95 if reached else math.nan,
        **base,
    )


def _lower_bound_crossing(b0: float, b1: float, covariance: np.ndarray, z: float) -> float:
    """ln a where eta(x) - z se(eta(x)) = logit(0.9), or NaN when it never gets there.

    f(x) = eta(x) - z se(x) is concave, with slope tending to b1 - z sqrt(C11): when that is
    positive f rises everywhere and crosses logit(0.9) once, above x90. Squaring
    eta - logit(0.9) = z se gives A x^2 + B x + C = 0, whose larger root is that crossing
    (the smaller one solves eta - logit(0.9) = -z se, below x90).
    """
    c0 = b0 - logit(POD_LEVEL)
    a = b1 * b1 - z * z * covariance[1, 1]
    if a <= 0:
        return math.nan
    b = 2.0 * (c0 * b1 - z * z * covariance[0, 1])
    c = c0 * c0 - z * z * covariance[0, 0]
    return (-b + math.sqrt(max(b * b - 4.0 * a * c, 0.0))) / (2.0 * a)


def _positive(values: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.size and not (np.all(np.isfinite(values)) and np.all(values > 0)):
        raise ConfigError(
            f"{name}: expected finite sizes > 0 (the fit is on log size), "
            f"got values from {np.nanmin(values)} to {np.nanmax(values)}"
        )
    return values


def _finite_max(*values: float) -> float:
    return max(v for v in values if math.isfinite(v))


def _json_number(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
