"""From line integrals to detector counts: polychromatic attenuation, blur, scatter, gain, noise.

Expected primary counts per pixel: I = sum_b w_b I0 exp(-sum_m mu_{m,b} L_m), with L_m the
line integral (mm) of material m and mu in 1/mm; beam hardening follows from the bins.
Then a Gaussian blur on each projection (focal spot and detector), scatter as a fraction
of the detector row's mean primary signal, a per-column gain, Poisson noise, and the dark
offset. Flats are recorded with the flat gain only; the projections carry an extra
per-column gain drift (`gain_spread`) that flat-field correction cannot remove (rings).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from porelab.simulate.materials import attenuation_per_mm
from porelab.simulate.scanner.spec import ScanSpec

#: Relative spread of the detector's per-column gain that the flats do correct.
_FLAT_GAIN_SPREAD = 0.03


def expected_primary(line_mm: np.ndarray, keys: list[str], spec: ScanSpec) -> np.ndarray:
    """Expected photon counts (n_angles, rows, cols) behind the object, before detector effects."""
    mu = np.stack([attenuation_per_mm(k) for k in keys])  # (n_materials, n_bins)
    weights = np.asarray(spec.spectrum_weights, dtype=np.float64)
    weights = weights / weights.sum()
    out = np.zeros(line_mm.shape[1:], np.float32)
    for b, w in enumerate(weights):
        if w == 0:
            continue
        path = np.tensordot(mu[:, b].astype(np.float32), line_mm, axes=(0, 0))
        out += np.float32(w * spec.exposure) * np.exp(-path)
    return out


def detector_gains(cols: int, spec: ScanSpec) -> tuple[np.ndarray, np.ndarray]:
    """(flat gain, projection gain) per column; their ratio is the uncorrectable drift."""
    rng = np.random.default_rng([spec.seed, 1])
    flat_gain = 1.0 + _FLAT_GAIN_SPREAD * rng.standard_normal(cols)
    drift = 1.0 + spec.gain_spread * rng.standard_normal(cols)
    return flat_gain.astype(np.float32), (flat_gain * drift).astype(np.float32)


def detector_signal(primary: np.ndarray, spec: ScanSpec) -> np.ndarray:
    """Blurred primary plus scatter (expected counts before gain and noise)."""
    signal = primary
    if spec.blur_px > 0:
        signal = ndimage.gaussian_filter(primary, sigma=(0, spec.blur_px, spec.blur_px), mode="nearest")
    if spec.scatter_fraction > 0:
        signal = signal + np.float32(spec.scatter_fraction) * primary.mean(axis=2, keepdims=True)
    return signal


def record_counts(
    expected: np.ndarray, gain: np.ndarray, spec: ScanSpec, stream: int, first_row: int | None = None
) -> np.ndarray:
    """Poisson counts at `expected * gain` (frames, rows, cols) plus the dark offset, float32.

    With `first_row`, every detector row draws from its own stream (`first_row` names the
    first row of `expected` in the whole detector), so a scan recorded slab by slab of rows has
    the same counts however its rows are cut; without, one stream serves the whole stack.
    """
    if first_row is None:
        counts = np.random.default_rng([spec.seed, stream]).poisson(expected * gain).astype(np.float32)
    else:
        counts = np.empty(expected.shape, np.float32)
        for row in range(expected.shape[1]):
            rng = np.random.default_rng([spec.seed, stream, first_row + row])
            counts[:, row] = rng.poisson(expected[:, row] * gain)
    return counts + np.float32(spec.dark_offset)


def flats_and_darks(
    rows: int, cols: int, spec: ScanSpec, first_row: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`n_flats` open-beam frames and one dark frame (the offset; this detector's dark is noiseless);
    `first_row` as in `record_counts`."""
    flat_gain, _ = detector_gains(cols, spec)
    expected = np.full((spec.n_flats, rows, cols), spec.exposure, np.float32)
    flats = record_counts(expected, flat_gain, spec, stream=3, first_row=first_row)
    darks = np.full((1, rows, cols), spec.dark_offset, np.float32)
    return flats, darks
