"""Patch augmentation, the papers' set: flips, 90-degree rotations, elastic deformation,
intensity scaling, blur, Gaussian and Poisson noise; and, to match the simulator's artefact
model where re-simulating is too slow, a gamma change, a noise level drawn per patch (as an
exposure would be) and ring artefacts (concentric about an axis along z, as a detector
column's gain error makes them). Geometric transforms move image and label together;
intensity transforms touch the image only.

Written with numpy/scipy on one patch at a time (TorchIO and MONAI do the same per subject)
so the stream needs no extra dependency; every draw comes from the generator passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class AugmentConfig:
    """Probability of each transform (0 switches it off) and its strength."""

    flip: float = 0.5
    rotate90: float = 0.5
    elastic: float = 0.0
    elastic_sigma: float = 4.0
    elastic_magnitude: float = 2.0
    intensity: float = 0.3
    intensity_range: tuple[float, float] = (0.9, 1.1)
    blur: float = 0.2
    blur_sigma: tuple[float, float] = (0.3, 1.0)
    gaussian_noise: float = 0.2
    gaussian_std: float = 0.03
    poisson_noise: float = 0.0
    poisson_counts: float = 200.0
    noise_levels: tuple[float, float] = (1.0, 1.0)  # gaussian_std times a log-uniform draw in this range
    gamma: float = 0.0
    gamma_range: tuple[float, float] = (0.7, 1.4)
    rings: float = 0.0
    ring_amplitude: float = 0.05  # of the patch's intensity range, at most

    @classmethod
    def off(cls) -> "AugmentConfig":
        return cls(
            flip=0, rotate90=0, elastic=0, intensity=0, blur=0, gaussian_noise=0, poisson_noise=0, gamma=0, rings=0
        )


def _geometric(image: np.ndarray, label: np.ndarray, config: AugmentConfig, rng: np.random.Generator):
    for axis in range(image.ndim):
        if rng.random() < config.flip:
            image, label = np.flip(image, axis), np.flip(label, axis)
    if rng.random() < config.rotate90 and image.shape[-1] == image.shape[-2]:
        k = int(rng.integers(1, 4))
        image, label = np.rot90(image, k, axes=(-2, -1)), np.rot90(label, k, axes=(-2, -1))
    return image, label


def _elastic(image: np.ndarray, label: np.ndarray, config: AugmentConfig, rng: np.random.Generator):
    grid = np.meshgrid(*[np.arange(n, dtype=np.float32) for n in image.shape], indexing="ij")
    coords = [
        g
        + config.elastic_magnitude
        * ndimage.gaussian_filter(rng.standard_normal(image.shape).astype(np.float32), config.elastic_sigma)
        * 3.0
        for g in grid
    ]
    warped = ndimage.map_coordinates(image, coords, order=1, mode="nearest")
    warped_label = ndimage.map_coordinates(label, coords, order=0, mode="nearest")
    return warped.astype(np.float32), warped_label.astype(label.dtype)


def _happens(probability: float, rng: np.random.Generator) -> bool:
    """A transform off by default draws nothing, so older profiles keep their patch streams."""
    return probability > 0 and rng.random() < probability


def _gamma(image: np.ndarray, config: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """A gamma curve on the patch's own range (a detector's or reconstruction's non-linearity)."""
    low, high = float(image.min()), float(image.max())
    if high <= low:
        return image
    unit = (image - low) / (high - low)
    return (low + (high - low) * unit ** np.float32(rng.uniform(*config.gamma_range))).astype(np.float32)


def _rings(image: np.ndarray, config: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Rings about an axis along z (within two patch widths of the patch): a radial profile of
    random per-radius offsets, the signature of uncorrected detector-column gains."""
    _, ny, nx = image.shape
    centre = rng.uniform(-ny, 2 * ny), rng.uniform(-nx, 2 * nx)
    yy, xx = np.meshgrid(np.arange(ny) - centre[0], np.arange(nx) - centre[1], indexing="ij")
    radius = np.sqrt(yy**2 + xx**2).astype(int)
    scale = config.ring_amplitude * float(np.ptp(image) or 1.0)
    profile = rng.normal(0.0, scale / 2.0, radius.max() + 1) * (rng.random(radius.max() + 1) < 0.3)
    return (image + profile[radius][None].astype(np.float32)).astype(np.float32)


def _intensity(image: np.ndarray, config: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    if _happens(config.gamma, rng):
        image = _gamma(image, config, rng)
    if _happens(config.rings, rng):
        image = _rings(image, config, rng)
    if rng.random() < config.intensity:
        image = image * np.float32(rng.uniform(*config.intensity_range))
    if rng.random() < config.blur:
        image = ndimage.gaussian_filter(image, float(rng.uniform(*config.blur_sigma)))
    if rng.random() < config.gaussian_noise:
        low, high = config.noise_levels
        level = low if high <= low else float(np.exp(rng.uniform(np.log(low), np.log(high))))
        image = image + rng.normal(0.0, config.gaussian_std * level, image.shape).astype(np.float32)
    if rng.random() < config.poisson_noise:
        counts = np.clip(image, 0, None) * config.poisson_counts
        image = (rng.poisson(counts) / config.poisson_counts).astype(np.float32)
    return image


def augment(
    image: np.ndarray, label: np.ndarray, config: AugmentConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Augmented copies of one (image, label) patch pair."""
    image, label = _geometric(image, label, config, rng)
    if rng.random() < config.elastic:
        image, label = _elastic(np.ascontiguousarray(image), np.ascontiguousarray(label), config, rng)
    image = _intensity(np.ascontiguousarray(image, dtype=np.float32), config, rng)
    return image, np.ascontiguousarray(label)
