"""Connected components of a binary mask (scipy.ndimage) and filters on them."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from porelab.errors import VolumeError

CONNECTIVITY = {6: 1, 18: 2, 26: 3}


def check_3d(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 3:
        raise VolumeError(f"{name}: expected a 3D array (z, y, x), got shape {array.shape}")
    return array


def label_components(mask: np.ndarray, connectivity: int = 6) -> np.ndarray:
    """Instance ids 1..n of the `connectivity`-connected (6, 18 or 26) components, int32."""
    if connectivity not in CONNECTIVITY:
        raise VolumeError(f"connectivity: expected 6, 18 or 26, got {connectivity!r}")
    structure = ndimage.generate_binary_structure(3, CONNECTIVITY[connectivity])
    labels, _ = ndimage.label(np.asarray(mask, dtype=bool), structure=structure)
    return labels.astype(np.int32, copy=False)


def drop_thin(labels: np.ndarray, min_extent: int = 2) -> np.ndarray:
    """Remove components whose bounding box is shorter than `min_extent` along any axis, and
    renumber the rest 1..n in their original order."""
    boxes = ndimage.find_objects(labels)
    keep = np.zeros(len(boxes) + 1, dtype=bool)
    for index, box in enumerate(boxes, start=1):
        if box is not None:
            keep[index] = all(s.stop - s.start >= min_extent for s in box)
    new_ids = np.zeros(len(keep), dtype=np.int32)
    new_ids[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return new_ids[labels]
