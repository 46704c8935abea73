"""Is an uploaded scan unlike the training data? The registry's autoencoder detector when the
model folder has one (`ood.pt`, Lindgren & Zach), else a periodic-texture check.

`make cv` writes `ood.pt` (`porelab.ood.registry_detector`), trained on the slices
`porelab.ood.volumes.volume_slices` cuts, which both checks score here. The fallback, for a
model folder without one, knows nothing of the training scans (grey values are normalised per
volume, so an intensity-range check would see nothing). What it can check without them: CT
scans of parts are aperiodic (noise, pores, edges give smooth power spectra), while raster,
screen and detector-pattern artefacts put their power in isolated spectral peaks. The score is
the largest ratio of a slice-averaged power-spectrum bin to the larger of its 7 x 7, 1 x 7 and
7 x 1 medians (the line medians keep the straight streaks of flat part faces from counting as
peaks), divided by `threshold`: > 1 means out of distribution, as in `porelab.ood.OODResult`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# = porelab.ood.volumes.SLICES and CROP; porelab.ood is imported only when used (it imports torch)
_SLICES = 16
_CROP = 128
_LOW_FREQUENCY = 3.0  # bins this close to DC hold the object's shape, not texture


@dataclass(frozen=True)
class RasterCheck:
    """threshold: a ratio noise reaches with negligible probability (the 16-slice average of
    exponential bins has a relative spread of 1/4, and smooth spectra stay near 1)."""

    threshold: float = 12.0
    slices: int = _SLICES
    crop: int = _CROP

    def __call__(self, data: Any) -> dict[str, Any]:
        power = _slice_power(data, self.slices, self.crop)
        ratio = _peak_ratio(power)
        score = float(ratio / self.threshold)
        return {"score": score, "is_ood": score > 1.0, "method": "raster-spectrum",
                "peak_ratio": float(ratio), "threshold": self.threshold}


def _slice_power(data: Any, slices: int, crop: int) -> np.ndarray:
    """Mean 2-D power spectrum (DC centred) of the slices `volume_slices` picks (up to `slices`
    evenly spaced central crops), Hann-windowed, each normalised by its own variance so no slice
    dominates."""
    from porelab.ood.volumes import volume_slices

    images = volume_slices(data, None, slices, crop)
    window = np.outer(np.hanning(images.shape[1]), np.hanning(images.shape[2])).astype(np.float32)
    total = None
    for image in images:
        image = (image - image.mean()) * window
        spectrum = np.abs(np.fft.fftshift(np.fft.fft2(image))) ** 2
        spectrum /= max(float(spectrum.mean()), 1e-30)
        total = spectrum if total is None else total + spectrum
    return total


def _peak_ratio(power: np.ndarray) -> float:
    from scipy.ndimage import median_filter

    background = np.maximum.reduce([median_filter(power, size=s, mode="wrap") for s in ((7, 7), (1, 7), (7, 1))])
    rows, cols = np.indices(power.shape)
    radius = np.hypot(rows - power.shape[0] // 2, cols - power.shape[1] // 2)
    ratio = power / np.maximum(background, 1e-30)
    return float(ratio[radius > _LOW_FREQUENCY].max())


@dataclass
class OODCheck:
    """The autoencoder detector of `detector_path` when given, else `RasterCheck`."""

    detector_path: Path | None = None
    raster: RasterCheck = RasterCheck()

    def __post_init__(self) -> None:
        self._detector = None
        if self.detector_path is not None:
            from porelab.ood import OODDetector

            self._detector = OODDetector.load(self.detector_path)

    def __call__(self, data: Any, normaliser: Any) -> dict[str, Any]:
        if self._detector is None:
            return self.raster(data)
        from porelab.ood import ood_score
        from porelab.ood.volumes import volume_slices

        result = ood_score(volume_slices(data, normaliser, self.raster.slices, self.raster.crop),
                           self._detector).to_dict()
        return {"score": result["score"], "is_ood": result["is_ood"], "method": "autoencoder",
                "flagged_cells": result["flagged_cells"]}
