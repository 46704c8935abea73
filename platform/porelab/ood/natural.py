"""Synthetic "natural-image" indications (Lindgren & Zach): regions grown from random seeds,
filled with the texture of a photograph, scaled and blurred by a point-spread function.

They teach the autoencoder to remove bright structures it has never seen, so that anything
unlike accepted material shows in its residual. The photographs are the ones bundled with
scikit-image (`skimage.data`), read from the installed package: nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

from porelab.errors import ConfigError

# skimage.data images shipped inside the wheel (the others are fetched with pooch on demand)
NATURAL_IMAGES = (
    "astronaut",
    "brick",
    "camera",
    "cat",
    "chelsea",
    "coffee",
    "coins",
    "grass",
    "gravel",
    "moon",
    "page",
    "rocket",
    "text",
    "clock",
    "hubble_deep_field",
)
_LORENTZ_RADIUS = 8  # kernel half-width in pixels: the 1/r^2 tail is cut there


@dataclass(frozen=True)
class NaturalIndicationConfig:
    """Ranges (low, high) the paper draws from: regions per patch, region size in pixels,
    elongation (length / width), peak intensity, Gaussian PSF sigma (px) or Lorentzian PSF
    half width at half maximum (px); `gaussian_share` of the indications use the Gaussian."""

    regions: tuple[int, int] = (1, 4)
    region_pixels: tuple[int, int] = (10, 8000)
    elongation: tuple[float, float] = (1.0, 40.0)
    intensity: tuple[float, float] = (0.05, 0.2)
    gaussian_sigma: tuple[float, float] = (2.0, 9.0)
    lorentzian_hwhm: tuple[float, float] = (0.15, 0.4)
    gaussian_share: float = 0.5
    images: tuple[str, ...] = NATURAL_IMAGES

    def __post_init__(self) -> None:
        for name in ("regions", "region_pixels", "elongation", "intensity", "gaussian_sigma", "lorentzian_hwhm"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ConfigError(
                    f"NaturalIndicationConfig.{name}: expected (low, high) with 0 < low <= high, got {(low, high)}"
                )
        unknown = sorted(set(self.images) - set(NATURAL_IMAGES))
        if unknown or not self.images:
            raise ConfigError(
                f"NaturalIndicationConfig.images: expected names from {NATURAL_IMAGES}, got unknown {unknown}"
            )
        if not 0.0 <= self.gaussian_share <= 1.0:
            raise ConfigError(f"NaturalIndicationConfig.gaussian_share must be in [0, 1], got {self.gaussian_share}")


@lru_cache(maxsize=None)
def natural_image(name: str) -> np.ndarray:
    """A bundled scikit-image photograph as grey values in [0, 1] (float32)."""
    from skimage import color, data, util

    if name not in NATURAL_IMAGES:
        raise ConfigError(f"natural_image: {name!r} is not one of {NATURAL_IMAGES}")
    image = getattr(data, name)()
    if image.ndim == 3:
        image = color.rgb2gray(image[..., :3])
    return util.img_as_float32(image)


def grow_region(shape: tuple[int, int], pixels: int, elongation: float, rng: np.random.Generator) -> np.ndarray:
    """Boolean region of `pixels` pixels grown from a random seed.

    A growth front advancing at a speed that depends on the direction (`elongation` times
    faster along a random axis) and on a smooth random field reaches pixels in the order
    of the anisotropic, noise-scaled distance computed here; the region is the first
    `pixels` it reaches, so no pixel-by-pixel loop is needed.
    """
    rows, cols = np.mgrid[: shape[0], : shape[1]].astype(np.float32)
    seed = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
    angle = rng.uniform(0, np.pi)
    along = (rows - seed[0]) * np.cos(angle) + (cols - seed[1]) * np.sin(angle)
    across = -(rows - seed[0]) * np.sin(angle) + (cols - seed[1]) * np.cos(angle)
    stretch = np.sqrt(elongation)
    distance = np.hypot(along / stretch, across * stretch)
    field = ndimage.gaussian_filter(rng.normal(size=shape), 3.0)
    distance *= np.exp(0.5 * field / (field.std() + 1e-12))
    pixels = int(np.clip(pixels, 1, distance.size))
    threshold = np.partition(distance.ravel(), pixels - 1)[pixels - 1]
    return distance <= threshold


def natural_indication(
    shape: tuple[int, int], rng: np.random.Generator, config: NaturalIndicationConfig = NaturalIndicationConfig()
) -> np.ndarray:
    """An additive indication map (float32, >= 0) of `shape` with 1-4 textured regions.

    Region sizes are capped at half the patch. The peak after the PSF is the drawn
    intensity, so a wide Gaussian does not make an indication invisible.
    """
    total = np.zeros(shape, dtype=np.float32)
    cap = max(1, int(0.5 * shape[0] * shape[1]))
    for _ in range(int(rng.integers(config.regions[0], config.regions[1] + 1))):
        pixels = min(int(_log_uniform(config.region_pixels, rng)), cap)
        region = grow_region(shape, pixels, _log_uniform(config.elongation, rng), rng)
        texture = _texture(shape, config, rng)
        indication = _blur(np.where(region, 0.25 + 0.75 * texture, 0.0).astype(np.float32), config, rng)
        peak = float(indication.max())
        if peak > 0:
            total += indication * np.float32(rng.uniform(*config.intensity) / peak)
    return total


def _texture(shape: tuple[int, int], config: NaturalIndicationConfig, rng: np.random.Generator) -> np.ndarray:
    """A random crop of a random photograph (tiled if smaller), rescaled to [0, 1]."""
    image = natural_image(config.images[int(rng.integers(len(config.images)))])
    reps = (-(-shape[0] // image.shape[0]), -(-shape[1] // image.shape[1]))
    image = np.tile(image, reps) if max(reps) > 1 else image
    r = int(rng.integers(0, image.shape[0] - shape[0] + 1))
    c = int(rng.integers(0, image.shape[1] - shape[1] + 1))
    crop = image[r : r + shape[0], c : c + shape[1]]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    span = float(crop.max() - crop.min())
    return (crop - crop.min()) / span if span > 0 else np.zeros(shape, np.float32)


def _blur(image: np.ndarray, config: NaturalIndicationConfig, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < config.gaussian_share:
        return ndimage.gaussian_filter(image, rng.uniform(*config.gaussian_sigma))
    return ndimage.convolve(image, lorentzian_kernel(rng.uniform(*config.lorentzian_hwhm)), mode="constant")


def lorentzian_kernel(hwhm: float, radius: int = _LORENTZ_RADIUS) -> np.ndarray:
    """2D Lorentzian (Cauchy) point-spread function 1 / (r^2 + hwhm^2), normalised to sum 1."""
    r2 = np.sum(np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float32) ** 2, axis=0)
    kernel = 1.0 / (r2 + hwhm**2)
    return (kernel / kernel.sum()).astype(np.float32)


def _log_uniform(bounds: tuple[float, float], rng: np.random.Generator) -> float:
    """Sizes and elongations span decades: draw them uniformly in log."""
    return float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))
