"""Benchmark of the post-processing fit (Iuso et al. eq. 3) on a 128^3 synthetic map.

Ours: weighted-median lambda per sigma, log-sigma grid + bounded Brent on a 2x block-mean
copy, lambda refitted at full resolution. Naive: scipy.optimize.minimize (Nelder-Mead) over
(lambda, sigma) of the full-resolution L1 objective, one Gaussian filter per evaluation.
The last line prints the speed ratio naive / ours.

    python bench/postprocess.py [--size 128]
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import ndimage, optimize

from _measure import measure
from porelab.infer.postprocess import fit_edge_model, gradient_l1

LAMBDA0, SIGMA0 = 0.7, 2.0


def synthetic(size: int) -> tuple[np.ndarray, np.ndarray]:
    z, y, x = np.mgrid[:size, :size, :size]
    centre, radius = size / 2, 0.35 * size
    v = ndimage.gaussian_filter(((y - centre) ** 2 + (x - centre) ** 2 < radius**2).astype(np.float32), 1.0)
    rng = np.random.default_rng(0)
    pores = np.zeros(v.shape, dtype=bool)
    for c in rng.integers(int(0.3 * size), int(0.7 * size), size=(20, 3)):
        pores |= (z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2 <= 9
    edges = ndimage.gaussian_filter(gradient_l1(v), SIGMA0, mode="nearest", truncate=3.0)
    anomaly = LAMBDA0 * edges + 0.4 * pores + np.abs(rng.normal(0, 0.003, v.shape))
    return anomaly.astype(np.float32), v


def naive_fit(anomaly: np.ndarray, v: np.ndarray) -> tuple[float, float, int]:
    gradient = gradient_l1(v)

    def objective(params: np.ndarray) -> float:
        lam, sigma = params
        if sigma <= 0.3 or lam < 0:
            return np.inf
        return float(
            np.abs(anomaly - lam * ndimage.gaussian_filter(gradient, sigma, mode="nearest", truncate=3.0)).mean()
        )

    result = optimize.minimize(objective, x0=[1.0, 1.0], method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 1e-7})
    return float(result.x[0]), float(result.x[1]), int(result.nfev)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    anomaly, v = synthetic(args.size)
    times = []
    for _ in range(args.repeats):
        with measure() as ours:
            fit = fit_edge_model(anomaly, v)
        times.append(ours.seconds)
    with measure() as theirs:
        lam, sigma, evaluations = naive_fit(anomaly, v)
    best = min(times)
    print(f"size {args.size}^3  truth lambda={LAMBDA0} sigma={SIGMA0}")
    print(
        f"ours : lambda={fit.lam:.4f} sigma={fit.sigma:.4f}  best of {args.repeats}: {best:.3f} s "
        f"(all: {', '.join(f'{t:.3f}' for t in times)})"
    )
    print(f"naive: lambda={lam:.4f} sigma={sigma:.4f}  {theirs.seconds:.2f} s ({evaluations} evaluations)")
    print(f"ratio_naive_over_ours={theirs.seconds / best:.1f}")


if __name__ == "__main__":
    main()
