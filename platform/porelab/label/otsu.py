"""The Otsu pore labeller of Iuso et al. (Algorithm 1): heuristic labels and the filter baseline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu

from porelab.errors import VolumeError
from porelab.label.components import check_3d, drop_thin, label_components


@dataclass
class OtsuResult:
    object_mask: np.ndarray  # bool: the part, holes filled (pores included)
    pore_mask: np.ndarray  # bool: kept pore voxels
    pore_labels: np.ndarray  # int32: pore ids 1..n, 0 elsewhere
    object_threshold: float
    pore_threshold: float

    @property
    def pore_count(self) -> int:
        return int(self.pore_labels.max(initial=0))


def object_mask(volume: np.ndarray) -> tuple[np.ndarray, float]:
    """Otsu threshold of the whole volume, then flood fill of the enclosed holes."""
    threshold = float(threshold_otsu(volume))
    return ndimage.binary_fill_holes(volume > threshold), threshold


def otsu_pores(volume: np.ndarray, min_extent: int = 2, connectivity: int = 6, boundary_layers: int = 1) -> OtsuResult:
    """Algorithm 1 of Iuso et al.

    1. object mask: Otsu threshold of the volume, holes filled by flood fill from outside;
    2. pore candidates: voxels inside the object at or below the Otsu threshold of the
       inside's voxels;
    3. `connectivity`-connected components (6 by default);
    4. drop components whose bounding box is shorter than `min_extent` voxels along any axis.

    "Inside" leaves out the object's outer `boundary_layers` voxel layers (1 by default; 0 is
    the literal recipe). Those layers hold the partial-volume voxels of the part's surface,
    darker than the metal; with 0 they form a shell of false pores around the whole part
    whenever the inner threshold lies above the object threshold, which it does on a blurred
    scan with a small porosity. Surface-breaking pores are open to the outside, so the flood
    fill leaves them out of the object and the algorithm does not report them.
    """
    volume = _checked(volume)
    if boundary_layers < 0:
        raise VolumeError(f"otsu_pores boundary_layers: expected >= 0, got {boundary_layers}")
    solid, object_threshold = object_mask(volume)
    inside = ndimage.binary_erosion(solid, iterations=boundary_layers, border_value=0) if boundary_layers else solid
    if not inside.any():
        raise VolumeError("otsu_pores: the object mask is empty (the volume has no bright part)")
    pore_threshold = float(threshold_otsu(volume[inside]))
    candidates = inside & ~(volume > pore_threshold)
    labels = drop_thin(label_components(candidates, connectivity), min_extent)
    return OtsuResult(solid, labels > 0, labels, object_threshold, pore_threshold)


def _checked(volume: np.ndarray) -> np.ndarray:
    volume = check_3d(volume, "otsu_pores volume")
    real = np.issubdtype(volume.dtype, np.number) and not np.issubdtype(volume.dtype, np.complexfloating)
    if not real:
        raise VolumeError(f"otsu_pores volume: expected real numbers, got dtype {volume.dtype}")
    if not np.isfinite(volume).all():
        raise VolumeError("otsu_pores volume: contains NaN or infinite values")
    if volume.min() == volume.max():
        raise VolumeError(
            f"otsu_pores volume: constant (every voxel is {volume.min()}); "
            "expected a part brighter than its surroundings"
        )
    return volume
