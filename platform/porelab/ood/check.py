"""Is a scan unlike the training data? The model folder's autoencoder detector when it has one
(`ood.pt`, Lindgren & Zach), and always a periodic-texture check, a ring check, an
interpolation check and, given the part, a field-of-view check; `porelab predict` and the
service both ask it, and state its answer as `ood: {score, is_ood, method, reasons}`.

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

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from porelab.errors import ConfigError
from porelab.registry import CONFIG, OOD, read_model_config

# = porelab.ood.volumes.SLICES and CROP; porelab.ood is imported only when used (it imports torch)
OOD_FILE = OOD  # a model folder's detector, beside its model.pt (`porelab.registry`)
_SLICES = 16
_CROP = 128
_LOW_FREQUENCY = 3.0  # bins this close to DC hold the object's shape, not texture
#: Share of a side face's voxels the part may cover before the scan counts as truncated: a
#: reconstruction needs the whole cross-section inside the field of view (the top and bottom may
#: cut a long part).
TRUNCATED_SHARE = 0.01
_SLAB = 16


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
        reasons = (
            [
                f"periodic texture: a spectral peak {ratio:.0f} x its surroundings (at most {self.threshold:g} "
                "in CT scans of parts): a raster, screen or detector pattern"
            ]
            if score > 1.0
            else []
        )
        return {
            "score": score,
            "is_ood": score > 1.0,
            "method": "raster-spectrum",
            "peak_ratio": float(ratio),
            "threshold": self.threshold,
            "reasons": reasons,
        }


@dataclass(frozen=True)
class RingCheck:
    """Ring artefacts: rings about the rotation axis (the volume's z axis through its centre),
    which uncorrected detector gains leave. A ring is the same grey-value offset at one radius in
    every slice and every direction, so the radial profile of the slices' mean (one value per
    whole radius) shows it as an isolated spike: `spike(r) = |p(r) - (p(r-1) + p(r+1)) / 2| -
    |p(r+1) - p(r-1)| / 2`, which is 0 or less on a monotone stretch (a part's blurred edge, even
    a cylinder's about the axis) and the ring's offset at a ring. The score is the `rank`-th
    largest spike as a share of the grey span (0.5-99.5 %), divided by `threshold`: one pore or
    one thin feature is not a ring pattern.

    threshold: the default, for models whose folder records none (`ring_calibration` sets a
    model's own from its training scans, `scan_check` reads it); measured on simulated scans of
    parts (am-eval: 27 scans of three parts over the degradation grid; am-cylinders with its
    challenging cube): at most 0.0069 of the span (the challenging cube; 0.0066 elsewhere),
    while am-randomized's scans reach 0.045 (AlSi10Mg parts: low contrast); with rings of
    standard deviation 0.1 x the span on a third of the radii
    (`porelab.ood.volume_sets.with_rings`, four seeds) 0.012-0.052 on the 96^3 am-eval scans,
    but 0.002-0.014 on 40-voxel-wide cylinders, whose 17 radii hold too few rings to rank.
    """

    threshold: float = 0.01
    rank: int = 3
    slices: int = 32
    crop: int = _CROP

    def __call__(self, data: Any) -> dict[str, Any]:
        from porelab.ood.volumes import volume_slices

        depth, rows, cols = (int(n) for n in data.shape)
        images = volume_slices(data, None, self.slices, self.crop)
        centre = (rows / 2 - max(0, (rows - self.crop) // 2), cols / 2 - max(0, (cols - self.crop) // 2))
        spikes = ring_spikes(images.mean(axis=0), centre) / _grey_span(images)
        strength = float(np.sort(spikes)[-self.rank]) if spikes.size >= self.rank else 0.0
        score = strength / self.threshold
        reasons = (
            [
                f"ring artefacts: rings about the rotation axis of {100 * strength:.1f} % of the grey range (at "
                f"most {100 * self.threshold:.2g} % in the scans the model was made for): detector gains left uncorrected"
            ]
            if score > 1.0
            else []
        )
        return {
            "score": score,
            "is_ood": score > 1.0,
            "method": "ring-profile",
            "ring_strength": strength,
            "threshold": self.threshold,
            "reasons": reasons,
        }


@dataclass(frozen=True)
class InterpolationCheck:
    """Volumes resampled to a finer grid (or smoothed) after reconstruction. Filtered back-projection
    leaves noise nearly uncorrelated between neighbouring voxels of a slice (its ramp filter
    whitens it), while interpolation mixes each output voxel from the same few input voxels. The
    score is the correlation of in-plane neighbours' high-pass residuals (`neighbour_correlation`)
    divided by `threshold`; it sees x1.25 upsampling and more, not a coarser grid (subsampling keeps
    the noise white: a volume resampled to x0.5 reads like a scan of a smaller part).

    threshold: measured (`neighbour_correlation` of 32 central slices) on the simulated scans of
    parts: am-eval's 27 scans -0.04 to 0.07, am-cylinders' 22 -0.05 to 0.07, am-randomized's 40
    (the bundled detector's training set, blur and magnification drawn) -0.04 to 0.19, the
    composite blocks 0.07-0.09, real rock micro-CT 0.09-0.22; am-eval's clean scans resampled
    (linear) x1.25 0.33-0.38, x1.5 0.44-0.48, x2 0.61-0.67, but x0.5 -0.18 to 0.16 and x0.75
    0.06-0.10. The cast-aluminium preset's housings (another simulated scanner, more blur) reach
    0.48-0.49.
    """

    threshold: float = 0.3
    slices: int = 32
    crop: int = _CROP

    def __call__(self, data: Any) -> dict[str, Any]:
        from porelab.ood.volumes import volume_slices

        correlation = neighbour_correlation(volume_slices(data, None, self.slices, self.crop))
        score = max(correlation, 0.0) / self.threshold
        reasons = (
            [
                f"interpolated: neighbouring voxels' noise correlates at {correlation:.2f} (at most "
                f"{self.threshold:g} in CT reconstructions of parts): the volume looks resampled to a finer "
                "voxel size or smoothed, so pores span more voxels than the model learned"
            ]
            if score > 1.0
            else []
        )
        return {
            "score": score,
            "is_ood": score > 1.0,
            "method": "neighbour-correlation",
            "neighbour_correlation": correlation,
            "threshold": self.threshold,
            "reasons": reasons,
        }


def neighbour_correlation(images: np.ndarray, sigma: float = 1.5) -> float:
    """Mean over x and y of the Pearson correlation between horizontally (vertically) adjacent
    pixels of the residual `image - gaussian(image, sigma)`, pooled over the slices and counted
    where both lie in the flatter half of their slice (smoothed gradient below the slice's
    median), so part edges and pores do not count as correlated noise. A slice stack of white
    noise gives about -0.1. One slice at a time: `predict` runs it within its memory budget."""
    from scipy import ndimage

    sums = np.zeros((2, 6))  # per direction: n, sum a, sum b, sum a^2, sum b^2, sum ab
    for image in images:
        image = np.asarray(image, np.float64)
        smooth = ndimage.gaussian_filter(image, sigma)
        residual = image - smooth
        gradient = np.hypot(ndimage.sobel(smooth, 0), ndimage.sobel(smooth, 1))
        flat = gradient < np.median(gradient)
        pairs = (
            (residual[:, 1:], residual[:, :-1], flat[:, 1:] & flat[:, :-1]),
            (residual[1:], residual[:-1], flat[1:] & flat[:-1]),
        )
        for row, (a, b, kept) in zip(sums, pairs):
            a, b = a[kept], b[kept]
            row += (a.size, a.sum(), b.sum(), (a * a).sum(), (b * b).sum(), (a * b).sum())
    return float(np.mean([_pearson(*row) for row in sums]))


def _pearson(n: float, sum_a: float, sum_b: float, sum_aa: float, sum_bb: float, sum_ab: float) -> float:
    """Pearson's r from the pooled sums of n pairs (0 when either side is constant)."""
    if n < 2:
        return 0.0
    covariance = sum_ab - sum_a * sum_b / n
    scale = np.sqrt(max(sum_aa - sum_a**2 / n, 0.0) * max(sum_bb - sum_b**2 / n, 0.0))
    return float(covariance / scale) if scale > 0 else 0.0


def ring_spikes(image: np.ndarray, centre: tuple[float, float], skip: int = 3) -> np.ndarray:
    """`spike(r)` of `RingCheck` for the whole radii `skip` .. the largest inside `image` (the
    innermost radii average too few pixels to tell a ring from noise)."""
    rows, cols = np.indices(image.shape)
    radius = np.rint(np.hypot(rows - centre[0], cols - centre[1])).astype(int)
    counts = np.bincount(radius.ravel())
    profile = np.bincount(radius.ravel(), image.ravel().astype(np.float64)) / np.maximum(counts, 1)
    inside = int(min(centre[0], centre[1], image.shape[0] - centre[0], image.shape[1] - centre[1]))
    profile = profile[:inside]
    spike = np.abs(profile[1:-1] - (profile[:-2] + profile[2:]) / 2) - np.abs(profile[2:] - profile[:-2]) / 2
    return spike[max(0, skip - 1) :]


def _grey_span(images: np.ndarray) -> float:
    low, high = np.percentile(images, [0.5, 99.5])
    return float(high - low) or 1.0


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
    """The autoencoder detector of `detector_path` (when given), `RasterCheck`, `RingCheck` and
    `InterpolationCheck`; any one flags a scan."""

    detector_path: Path | None = None
    raster: RasterCheck = RasterCheck()
    rings: RingCheck = RingCheck()
    interpolation: InterpolationCheck = InterpolationCheck()

    def __post_init__(self) -> None:
        self._detector = None
        if self.detector_path is not None:
            from porelab.ood import OODDetector

            self._detector = OODDetector.load(self.detector_path)

    def __call__(self, data: Any, normaliser: Any, part: Any = None) -> dict[str, Any]:
        """The check's answer for the volume `data`; with the `part` mask (read in z slabs) it also
        says when the part leaves the field of view."""
        result = self._score(data, normaliser)
        sides = [] if part is None else truncated_sides(part)
        if sides:
            result["reasons"] = [
                *result["reasons"],
                f"truncated: the part covers the volume's side faces "
                f"({', '.join(sides)}); the scan's field of view cuts its cross-section",
            ]
            result["is_ood"] = True
        result["truncated_sides"] = sides
        return result

    def _score(self, data: Any, normaliser: Any) -> dict[str, Any]:
        texture, rings, interpolation = self.raster(data), self.rings(data), self.interpolation(data)
        # the artefact checks know no training scans but see periodic patterns, rings and
        # interpolated noise the small autoencoder reconstructs well; any one flags the scan
        main = texture if self._detector is None else self._learned(data, normaliser)
        parts = [main, texture] if self._detector is not None else [main]
        parts += [rings, interpolation]
        return {
            **main,
            "score": max(p["score"] for p in parts),
            "is_ood": any(p["is_ood"] for p in parts),
            "reasons": [r for p in parts for r in p["reasons"]],
            "texture": _without_reasons(texture),
            "rings": _without_reasons(rings),
            "interpolation": _without_reasons(interpolation),
        }

    def _learned(self, data: Any, normaliser: Any) -> dict[str, Any]:
        from porelab.ood import ood_score
        from porelab.ood.volumes import volume_slices

        result = ood_score(
            volume_slices(data, normaliser, self.raster.slices, self.raster.crop), self._detector
        ).to_dict()
        cells = int(np.prod(result["cells_shape"]))
        reasons = (
            [
                f"unlike the model's training scans: {result['flagged_cells']} of {cells} image cells of "
                f"{result['cells_shape'][0]} slices reconstruct worse than any accepted training slice did "
                f"(score {result['score']:.2f}; above 1 is out of distribution)"
            ]
            if result["is_ood"]
            else []
        )
        return {
            "score": result["score"],
            "is_ood": result["is_ood"],
            "method": "autoencoder",
            "flagged_cells": result["flagged_cells"],
            "reasons": reasons,
        }


def _without_reasons(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "reasons"}


def truncated_sides(part: Any, share: float = TRUNCATED_SHARE) -> list[str]:
    """The side faces (y = 0, y = last, x = 0, x = last) more than `share` of whose voxels are part."""
    depth, rows, cols = (int(n) for n in part.shape)
    covered = np.zeros(4)
    for z in range(0, depth, _SLAB):
        block = np.asarray(part[z : min(z + _SLAB, depth)]).astype(bool)
        covered += [block[:, 0].sum(), block[:, -1].sum(), block[:, :, 0].sum(), block[:, :, -1].sum()]
    sizes = np.array([cols, cols, rows, rows]) * depth
    names = ("y = 0", f"y = {rows - 1}", "x = 0", f"x = {cols - 1}")
    return [f"{name}: {100 * c / n:.0f} %" for name, c, n in zip(names, covered, sizes) if c > share * n]


#: A model's ring threshold sits this far above the strongest rings of its training scans.
RING_MARGIN = 1.25


def ring_calibration(volumes: Iterable[Any], margin: float = RING_MARGIN) -> dict[str, Any]:
    """The ring threshold of a model trained on `volumes` (its training scans): `margin` x the
    strongest `RingCheck.ring_strength` among them, never below `RingCheck`'s default. A model
    trained on scans with rings (`am-randomized` draws the detector's gain spread, and low-contrast
    AlSi10Mg parts make the same rings a larger share of the grey span) has seen rings that strong,
    so they must not make its scans "unlike the training data"."""
    strengths = [float(RingCheck()(data)["ring_strength"]) for data in volumes]
    if not strengths:
        raise ConfigError("ring_calibration: no training scans; expected at least one volume")
    strongest = max(strengths)
    return {
        "ring_threshold": max(RingCheck.threshold, margin * strongest),
        "ring_strength_max": strongest,
        "ring_margin": margin,
    }


@functools.lru_cache(maxsize=8)
def _check(detector: str | None, modified: float, ring_threshold: float) -> OODCheck:
    return OODCheck(Path(detector) if detector else None, rings=RingCheck(threshold=ring_threshold))


def _ring_threshold(folder: Path) -> float:
    """The "ring_threshold" of the model folder's "ood_detector" record (`porelab.registry`), else the default."""
    record = read_model_config(folder).get("ood_detector") or {}
    value = record.get("ring_threshold", RingCheck.threshold)
    if not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(
            f"{folder / CONFIG}: field 'ood_detector.ring_threshold' = {value!r}; expected a positive number"
        )
    return float(value)


def scan_check(checkpoint: str | Path) -> OODCheck:
    """The check of the model whose weights are `checkpoint`: the `ood.pt` beside them (a registry
    or bundled model folder), else the periodic-texture check; the ring threshold its folder's
    config.json records (`ring_calibration`), else `RingCheck`'s default."""
    folder = Path(checkpoint).parent
    detector = folder / OOD_FILE
    rings = _ring_threshold(folder)
    if not detector.is_file():
        return _check(None, 0.0, rings)
    return _check(str(detector), detector.stat().st_mtime, rings)  # loaded once per file version
