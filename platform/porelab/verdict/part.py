"""The part as the region of interest: which voxels of a CT volume belong to the part.

A pore is a void inside the part; the air around the part, and a bore or a threaded hole
the part was made with, are not. `segment_part` finds the part in five steps:

1. a Gaussian filter (`smoothing_sigma` voxels) takes the noise of low-dose scans out of the
   grey values;
2. the ISO-50 threshold, halfway between the grey value of air and that of the least
   attenuating material (the surface determination CT metrology software starts from): both
   are peaks of the smoothed volume's histogram, found on its square root so that a small
   part in a large field of view still shows its peak; with several materials the lowest
   material peak is taken, so every material is part. Beam hardening and streaks move grey
   values by a fraction of the air-to-metal step, which a threshold in the middle tolerates;
3. material = smoothed grey value above the threshold; connected pieces under
   `min_piece_fraction` of the largest are streak debris in the air and are dropped;
4. voids enclosed by material are filled (they are where internal pores are). A pore cut
   by the edge of the field of view is open only through that edge: holes of the volume's
   face planes up to the area of a `max_void_diameter_vox` disc are closed first, so it counts
   as enclosed, while a bore that leaves through the face stays open. Enclosed voids wider
   than `max_void_diameter_vox` are cavities of the design and stay outside;
5. surface-breaking pores (Fuchs et al. keep them as their own class): a morphological
   closing with a ball of radius `surface_radius_vox` fills openings narrower than about
   twice that radius. Each region the closing adds that is compact (its bounding box within
   4 radii a side) and enclosed (at least `_ENCLOSED` of the voxels around it are part) is
   a surface pore, a void under a narrow mouth, and joins the part; the long regions a
   closing also adds (concave edges, the grooves of a thread), the open wedges of corners and
   dents, and anything wider (a bore) stay outside.

Written by hand because no library segments a part this way: scikit-image and scipy give the
pieces (Gaussian filter, histogram peaks, hole filling, distance transforms), which are used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu

from porelab.errors import ConfigError, VolumeError

_FACES = ndimage.generate_binary_structure(3, 1)
_SAMPLE = 2_000_000  # voxels of the smoothed volume the global threshold is taken from
_SEPARATION = 2.5  # robust standard deviations between air and material: else one class
_THICK = 3.0  # voxels a lighter material survives an erosion by (halos do not)
_LIGHT_MIN_FRACTION = 0.05  # of the bright material's voxels that a lighter material's thick core holds
_BAND = 3.0  # voxels either side of the global surface where the local threshold applies
_LOCAL_SIGMA = 3.0  # voxels over which local air and material grey values are averaged
_ENCLOSED = 0.7  # of the voxels around a closed-over region that are part: a pore, not a corner
_SKIN = 1.5  # voxels: the part's skin, not inspected (face and edge neighbours of the air)
_SURFACE_DEPTH = 1.8  # voxels: a pore reaching the layer under the skin (corners included) breaks the surface


@dataclass(frozen=True)
class PartConfig:
    """How the part is found (see the module docstring for each step).

    Args:
        smoothing_sigma: Gaussian sigma in voxels before the threshold.
        surface_radius_vox: closing radius; openings up to about twice it are surface pores.
        max_void_diameter_vox: enclosed voids wider than this are design cavities, not part.
        min_piece_fraction: pieces of material smaller than this fraction of the largest
            are dropped (streaks and debris in the air).
        threshold: a grey value to use instead of the ISO-50 threshold.
    """

    smoothing_sigma: float = 1.0
    surface_radius_vox: float = 6.0
    max_void_diameter_vox: float = 32.0
    min_piece_fraction: float = 0.01
    threshold: float | None = None

    def __post_init__(self) -> None:
        for name in ("smoothing_sigma", "surface_radius_vox", "min_piece_fraction"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"PartConfig.{name}={getattr(self, name)}: expected >= 0")
        if not self.max_void_diameter_vox > 0:
            raise ConfigError(f"PartConfig.max_void_diameter_vox={self.max_void_diameter_vox}: expected > 0")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GreyLevels:
    """The air and material grey values the ISO-50 threshold lies between."""

    air: float
    material: float
    threshold: float
    method: str  # "otsu", "otsu, two materials", "given" or "single class"


@dataclass(frozen=True, eq=False)  # holds arrays
class PartSegmentation:
    """The region of interest of one volume.

    `part` holds the part, its pores included (internal ones, and the mouths of surface-
    breaking ones): porosity is counted against it. `inspected` is where pores are looked
    for: the part without its skin (the voxels within `_SKIN` voxels of the outside: face
    and edge neighbours of the air). The surface is found to about a voxel, its partial-volume
    voxels are darker than the metal, and beam-hardening and edge artefacts make networks fire
    right along it; a pore that breaks the surface is still found, through its void below the
    skin (a surface pore's void is part: the closing took it in). `open_surface` marks where a
    pore breaks the surface: the mouths and the part voxels within `_SURFACE_DEPTH` voxels of
    the outside. `method` says where the part came from.
    """

    part: np.ndarray
    inspected: np.ndarray
    open_surface: np.ndarray
    levels: GreyLevels | None
    method: str
    config: PartConfig | None = None

    @classmethod
    def of_part(
        cls,
        part: np.ndarray,
        mouths: np.ndarray,
        levels: GreyLevels | None,
        method: str,
        config: PartConfig | None = None,
    ) -> "PartSegmentation":
        """`part` and its surface mouths -> the inspected voxels and the open surface."""
        depth = ndimage.distance_transform_edt(np.pad(part, 1, mode="edge"))[(slice(1, -1),) * 3]
        inspected = part & (depth > _SKIN)
        return cls(part, inspected, mouths | (part & (depth <= _SURFACE_DEPTH)), levels, method, config)

    @property
    def part_voxels(self) -> int:
        return int(np.count_nonzero(self.part))

    def describe(self, voxel_size: tuple[float, float, float]) -> dict[str, Any]:
        """What summary.json says about the region of interest."""
        voxels = self.part_voxels
        return {
            "method": self.method,
            "part_voxels": voxels,
            "part_volume_mm3": voxels * float(np.prod(voxel_size)),
            "grey_levels": asdict(self.levels) if self.levels else None,
            "settings": self.config.to_dict() if self.config else None,
        }


def grey_levels(smoothed: np.ndarray, config: PartConfig = PartConfig()) -> GreyLevels:
    """Air and material grey values of `smoothed` and the global threshold between them.

    Otsu's threshold splits the sample into a dark class (air, with pores and artefacts) and a
    bright one (the materials); air and material are the classes' medians, robust to the
    streaks and halos a median ignores. Classes whose medians lie closer than
    `_SEPARATION` robust standard deviations are one class (no air in the volume).
    """
    values = _sample(smoothed)
    if config.threshold is not None:
        dark, bright = values[values <= config.threshold], values[values > config.threshold]
        air = float(np.median(dark)) if dark.size else float(config.threshold)
        material = float(np.median(bright)) if bright.size else float(config.threshold)
        return GreyLevels(air, material, float(config.threshold), "given")
    if values.size == 0 or values.max() <= values.min():
        level = float(values[0]) if values.size else 0.0
        return GreyLevels(level, level, level - 1.0, "single class")
    threshold = float(threshold_otsu(values))
    dark, bright = values[values <= threshold], values[values > threshold]
    air, material = float(np.median(dark)), float(np.median(bright))
    spread = 1.4826 * max(_mad(dark), _mad(bright))
    if material - air < _SEPARATION * spread:
        return GreyLevels(air, material, float(values.min()) - 1.0, "single class")
    return GreyLevels(air, material, threshold, "otsu")


def _mad(values: np.ndarray) -> float:
    return float(np.median(np.abs(values - np.median(values))))


def _lighter_material(smoothed: np.ndarray, material: np.ndarray, levels: GreyLevels) -> GreyLevels:
    """`levels` lowered to take in a lighter material that Otsu's threshold left in the dark
    class. The bright part of that class (its own Otsu split) is a material when it is thick
    (enough of it survives an erosion by `_THICK` voxels) and ends in a surface as sharp as
    the bright material's: its grey-value gradient where it meets air, per unit of its
    contrast to air, is at least half the bright material's. The halos that cupping and
    scatter leave along a part's faces are thick on a challenging scan, but they fade into
    the air instead of ending in an edge."""
    values = _sample(smoothed)
    dark = values[values <= levels.threshold]
    if dark.size < 16 or dark.max() <= dark.min():
        return levels
    split = float(threshold_otsu(dark))
    candidate = (smoothed > split) & ~material
    thick = ndimage.distance_transform_edt(candidate) > _THICK
    if np.count_nonzero(thick) < max(_LIGHT_MIN_FRACTION * np.count_nonzero(material), 64):
        return levels
    light, air = float(np.median(smoothed[thick])), float(np.median(dark[dark <= split]))
    gradient = ndimage.gaussian_gradient_magnitude(smoothed, 1.0)
    # the lighter material's extent: its thick core grown back; the thin layers of the dark
    # class elsewhere (partial-volume voxels along the bright surface) count as air
    light_region = candidate & (ndimage.distance_transform_edt(~thick) <= _THICK + 1.0)
    air_side = ~light_region & ~material
    light_edge = light_region & ndimage.binary_dilation(air_side, _FACES)
    bright_edge = material & ndimage.binary_dilation(air_side, _FACES)
    if not light_edge.any() or not bright_edge.any():
        return levels
    light_sharpness = float(np.median(gradient[light_edge])) / max(light - air, 1e-12)
    bright_sharpness = float(np.median(gradient[bright_edge])) / max(levels.material - air, 1e-12)
    if light_sharpness < 0.5 * bright_sharpness:
        return levels
    return GreyLevels(air, light, (air + light) / 2.0, "otsu, two materials")


def segment_part(volume: np.ndarray, config: PartConfig = PartConfig()) -> PartSegmentation:
    """The part of `volume` (z, y, x grey values, brighter = more attenuating), in memory.

    A volume with a single grey-value class (a crop inside a part, a block with no air
    around it) is part everywhere; `method` says so.
    """
    volume = _checked(volume)
    smoothed = (
        ndimage.gaussian_filter(volume.astype(np.float32), config.smoothing_sigma, mode="nearest")
        if config.smoothing_sigma > 0
        else volume.astype(np.float32)
    )
    levels = grey_levels(smoothed, config)
    if levels.method == "single class":
        part = np.ones(volume.shape, bool)
        return PartSegmentation.of_part(
            part, np.zeros(volume.shape, bool), levels, "single class: whole volume", config
        )
    material = smoothed > levels.threshold
    if config.threshold is None:
        levels = _lighter_material(smoothed, material, levels)
        material = smoothed > levels.threshold
    material = _largest_pieces(material, config.min_piece_fraction)
    if not material.any():
        raise VolumeError(
            f"segment_part: no voxel above the threshold {levels.threshold:.4g}; expected a part "
            "brighter than the air around it"
        )
    if config.threshold is None:
        material = _largest_pieces(_local_iso50(smoothed, material), config.min_piece_fraction)
    del smoothed
    solid = _fill_enclosed_voids(material, config.max_void_diameter_vox)
    mouths = _surface_mouths(solid, config.surface_radius_vox)
    return PartSegmentation.of_part(
        solid | mouths, mouths, levels, "local iso50" if config.threshold is None else "given threshold", config
    )


def _local_iso50(smoothed: np.ndarray, material: np.ndarray) -> np.ndarray:
    """`material` with its surface moved to the local ISO-50 level: within `_BAND` voxels of the
    global surface a voxel is material when it is brighter than halfway between the air and
    the material grey values next to it (averaged over `_LOCAL_SIGMA` voxels, each side at
    least 2 voxels from the global surface). Cupping, halos and scatter shift the grey values
    near a face; a global threshold then puts the surface a voxel or two too far out or in."""
    inside = ndimage.distance_transform_edt(material)
    outside = ndimage.distance_transform_edt(~material)
    band = (inside <= _BAND) & (outside <= _BAND)
    local = {}
    for name, core in (("material", inside >= 2.0), ("air", outside >= 2.0)):
        weight = ndimage.gaussian_filter(core.astype(np.float32), _LOCAL_SIGMA, mode="nearest")
        total = ndimage.gaussian_filter(np.where(core, smoothed, 0.0).astype(np.float32), _LOCAL_SIGMA, mode="nearest")
        local[name] = (total / np.maximum(weight, 1e-6), weight > 1e-3)
    known = local["material"][1] & local["air"][1] & band
    threshold = (local["material"][0] + local["air"][0]) / 2.0
    refined = material.copy()
    refined[known] = smoothed[known] > threshold[known]
    return refined


def part_from_mask(mask: np.ndarray) -> PartSegmentation:
    """A part mask the user gives (e.g. from CAD): nonzero voxels are the part."""
    part = np.asarray(mask) > 0
    if part.ndim != 3 or not part.any():
        raise VolumeError(
            f"part mask: expected a 3D volume with some nonzero voxels, got shape {part.shape} "
            f"with {int(part.sum())} nonzero"
        )
    return PartSegmentation.of_part(part, np.zeros(part.shape, bool), None, "given part mask")


def _checked(volume: np.ndarray) -> np.ndarray:
    volume = np.asarray(volume)
    if volume.ndim != 3:
        raise VolumeError(f"segment_part: expected a 3D volume (z, y, x), got shape {volume.shape}")
    if not np.issubdtype(volume.dtype, np.number) or np.issubdtype(volume.dtype, np.complexfloating):
        raise VolumeError(f"segment_part: expected real grey values, got dtype {volume.dtype}")
    return volume


def _sample(values: np.ndarray) -> np.ndarray:
    flat = values.ravel()
    step = max(1, flat.size // _SAMPLE)
    sample = flat[::step]
    return sample[np.isfinite(sample)]


def _largest_pieces(material: np.ndarray, min_fraction: float) -> np.ndarray:
    labels, count = ndimage.label(material, structure=_FACES)
    if count <= 1:
        return material
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    keep = sizes >= min_fraction * sizes.max()
    keep[0] = False
    return keep[labels]


def _fill_enclosed_voids(material: np.ndarray, max_diameter: float) -> np.ndarray:
    """`material` with its enclosed voids filled, voids cut by the volume's faces included,
    design cavities (wider than `max_diameter`) left open."""
    max_area = int(np.ceil(np.pi * (max_diameter / 2.0) ** 2))
    padded = np.pad(material, 1)
    for axis in range(3):
        for side, index in ((0, 0), (-1, material.shape[axis] - 1)):
            face = np.take(material, index, axis=axis)
            closed = _close_small_holes(face, max_area) if face.any() else face
            where = [slice(1, -1)] * 3
            where[axis] = side
            padded[tuple(where)] = closed
    filled = ndimage.binary_fill_holes(padded)[(slice(1, -1),) * 3]
    voids, count = ndimage.label(filled & ~material, structure=_FACES)
    if count:
        max_voxels = np.pi / 6.0 * max_diameter**3
        too_big = np.bincount(voids.ravel()) > max_voxels
        too_big[0] = False
        filled &= ~too_big[voids]
    return filled


def _close_small_holes(face: np.ndarray, max_area: int) -> np.ndarray:
    """`face` (2D) with its enclosed holes under `max_area` pixels filled."""
    holes, count = ndimage.label(ndimage.binary_fill_holes(face) & ~face)
    if not count:
        return face
    small = np.bincount(holes.ravel()) < max_area
    small[0] = False
    return face | small[holes]


def _surface_mouths(solid: np.ndarray, radius: float) -> np.ndarray:
    """The compact, enclosed regions a closing with a ball of `radius` adds to `solid`."""
    if radius <= 0:
        return np.zeros(solid.shape, bool)
    pad = int(np.ceil(radius)) + 1
    padded = np.pad(solid, pad, mode="edge")  # the part goes on past the field of view
    grown = ndimage.distance_transform_edt(~padded) <= radius
    closed = ndimage.distance_transform_edt(grown) > radius
    added = (closed & ~padded)[(slice(pad, -pad),) * 3]
    regions, count = ndimage.label(added, structure=_FACES)
    if not count:
        return added
    limit = 4.0 * radius
    shell = ndimage.binary_dilation(added, _FACES) & ~added  # the voxels around each region
    owner = ndimage.maximum_filter(regions, footprint=_FACES)  # regions never touch: one owner per shell voxel
    enclosed = np.bincount(owner[shell], weights=solid[shell], minlength=count + 1) / np.maximum(
        np.bincount(owner[shell], minlength=count + 1), 1
    )
    keep = np.zeros(count + 1, bool)
    for index, box in enumerate(ndimage.find_objects(regions), start=1):
        keep[index] = box is not None and all(s.stop - s.start <= limit for s in box) and enclosed[index] >= _ENCLOSED
    return keep[regions]
