"""Real (and simulated) projections to line integrals: flat/dark correction, -log, recentring."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy import ndimage

from porelab.errors import VolumeError
from porelab.volume import Projections

#: Percentile of a detector row's counts taken as the open beam when a scan has no flats.
OPEN_BEAM_PERCENTILE = 99.5


def _mean_frame(frames: np.ndarray | None) -> np.ndarray | None:
    return None if frames is None else np.asarray(frames, np.float32).mean(axis=0, keepdims=True)


def _open_beam_estimate(counts: np.ndarray) -> np.ndarray:
    """Per-row open-beam level when there are no flats: a high percentile over angles and columns.

    Valid when some rays miss the sample at some angles (true of the demo files here).
    """
    return np.percentile(counts, OPEN_BEAM_PERCENTILE, axis=(0, 2), keepdims=True).astype(np.float32)


def to_line_integrals(projections: Projections, min_transmission: float = 1e-4) -> np.ndarray:
    """-log((counts - dark) / (flat - dark)), float32 (n_angles, rows, cols).

    Transmission is clipped to `min_transmission` so photon-starved rays stay finite.
    """
    counts = np.asarray(projections.counts, np.float32)
    dark = _mean_frame(projections.darks)
    dark = np.zeros((1,) + counts.shape[1:], np.float32) if dark is None else dark
    flat = _mean_frame(projections.flats)
    flat = _open_beam_estimate(counts - dark) + dark if flat is None else flat
    open_beam = np.maximum(flat - dark, np.float32(1e-6))
    transmission = np.maximum((counts - dark) / open_beam, np.float32(min_transmission))
    return -np.log(transmission)


def recentre(sinograms: np.ndarray, center: float) -> np.ndarray:
    """Shift (n_angles, rows, cols) along cols so the rotation axis `center` (a column) is mid-detector.

    Cubic-spline interpolation: linear interpolation blurs half-pixel shifts visibly more
    than whole-pixel ones.
    """
    shift = (sinograms.shape[2] - 1) / 2.0 - float(center)
    if abs(shift) < 1e-9:
        return sinograms
    return ndimage.shift(sinograms, (0.0, 0.0, shift), order=3, mode="nearest").astype(np.float32)


def read_mat_sinogram(path: str | Path, key: str = "sinoRD", angles_key: str = "anglesRad") -> Projections:
    """One raw sinogram stored in a MATLAB file as (detectors, angles): a one-row `Projections`.

    The angles are taken relative to the first one (the dendrite file stores them with an
    offset of many turns). No flats: `to_line_integrals` estimates the open beam.
    """
    from scipy.io import loadmat

    path = Path(path)
    contents = loadmat(path)
    for name in (key, angles_key):
        if name not in contents:
            raise VolumeError(
                f"{path}: variable {name!r} not found; expected one of "
                f"{sorted(k for k in contents if not k.startswith('__'))}"
            )
    sino = np.asarray(contents[key], np.float32)
    angles = np.asarray(contents[angles_key], np.float64).ravel()
    if sino.ndim != 2 or angles.size not in sino.shape:
        raise VolumeError(
            f"{path}: {key} has shape {sino.shape} for {angles.size} angles; expected a 2-D "
            "sinogram with one axis per angle"
        )
    if sino.shape[0] != angles.size:
        sino = sino.T
    counts = sino[:, None, :]
    meta = {"source": str(path), "format": "matlab-sinogram", "angle_offset_rad": float(angles[0])}
    return Projections(counts=counts, angles=angles - angles[0], metadata=meta)


def select_rows(projections: Projections, rows: slice) -> Projections:
    """The same scan restricted to some detector rows (cheap previews, tests)."""

    def cut(frames: np.ndarray | None) -> np.ndarray | None:
        return None if frames is None else frames[:, rows]

    return replace(
        projections, counts=projections.counts[:, rows], flats=cut(projections.flats), darks=cut(projections.darks)
    )
