"""Centre-of-rotation search for parallel-beam projections, and a slice sharpness score.

Method: in parallel beam the projection at theta + 180 deg is the mirror image, about the
rotation axis, of the projection at theta. Cross-correlating each projection with the mirrored
projection nearest to 180 deg away gives twice the axis offset (the principle of tomopy's
`find_center_pc`); a parabola through the correlation peak gives sub-pixel precision, and the
estimates of all usable pairs and rows are combined by their median. Written here because
tomopy is a conda-first dependency of several hundred MB for this one function. A pair is
usable when its angles differ from 180 deg by at most `max_pair_error_deg`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from porelab.errors import ConfigError


@dataclass(frozen=True)
class CenterResult:
    """The rotation axis as a detector column, and the per-pair estimates it came from."""

    center: float
    estimates: tuple[float, ...]
    pairs: int


def _opposed_pairs(angles: np.ndarray, max_error: float) -> list[tuple[int, int]]:
    pairs = []
    for i, theta in enumerate(angles):
        j = int(np.argmin(np.abs(np.abs(angles - theta) - np.pi)))
        if j > i and abs(abs(angles[j] - theta) - np.pi) <= max_error:
            pairs.append((i, j))
    return pairs


def _peak_offset(a: np.ndarray, b: np.ndarray) -> float:
    """Sub-pixel shift d (a(x) ~ b(x - d)) from the circular cross-correlation of zero-padded rows."""
    n = 2 * a.size
    corr = np.fft.irfft(np.fft.rfft(a - a.mean(), n) * np.conj(np.fft.rfft(b - b.mean(), n)), n)
    k = int(np.argmax(corr))
    left, mid, right = corr[k - 1], corr[k], corr[(k + 1) % n]
    denom = left - 2 * mid + right
    frac = 0.5 * (left - right) / denom if denom != 0 else 0.0
    shift = k + frac
    return shift - n if shift > n / 2 else shift


def find_center(
    line_integrals: np.ndarray, angles: np.ndarray, rows: slice | None = None, max_pair_error_deg: float = 1.5
) -> CenterResult:
    """Rotation axis column of (n_angles, rows, cols) parallel-beam line integrals."""
    pairs = _opposed_pairs(np.asarray(angles, np.float64), np.radians(max_pair_error_deg))
    if not pairs:
        raise ConfigError(
            "find_center: no two projections about 180 deg apart (within "
            f"{max_pair_error_deg} deg); the opposed-projection search needs a half turn"
        )
    data = line_integrals[:, rows] if rows is not None else line_integrals
    mid = (data.shape[2] - 1) / 2.0
    estimates = [mid + _peak_offset(data[i, r], data[j, r][::-1]) / 2.0 for i, j in pairs for r in range(data.shape[1])]
    return CenterResult(
        center=float(np.median(estimates)), estimates=tuple(float(e) for e in estimates), pairs=len(pairs)
    )


def sharpness(image: np.ndarray, value_range: tuple[float, float], smoothing: float = 1.0) -> float:
    """Negative histogram entropy inside the reconstruction circle (higher is sharper).

    The entropy criterion of Donath et al. (2006), as in tomopy's `find_center`: a wrong
    centre doubles edges into arcs and spreads the grey values. Compare reconstructions of
    one slice with one shared `value_range`; a light Gaussian (`smoothing` voxels) keeps
    noise from dominating the histogram.
    """
    ny, nx = image.shape
    yy, xx = np.mgrid[:ny, :nx]
    inside = (yy - (ny - 1) / 2) ** 2 + (xx - (nx - 1) / 2) ** 2 < (min(ny, nx) / 2 - 2) ** 2
    smooth = ndimage.gaussian_filter(image.astype(np.float64), smoothing) if smoothing > 0 else image
    counts, _ = np.histogram(smooth[inside], bins=128, range=value_range)
    p = counts[counts > 0] / max(counts.sum(), 1)
    return float(np.sum(p * np.log(p)))
