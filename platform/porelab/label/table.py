"""One row per pore: position, size, shape and place in the part, plus the part's porosity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage

from porelab.errors import VolumeError
from porelab.label.components import check_3d, label_components
from porelab.label.otsu import object_mask as otsu_object_mask
from porelab.label.sphericity import surface_and_sphericity
from porelab.label.streaming import STREAMING_COLUMNS

COLUMNS = (*STREAMING_COLUMNS, "surface_area_mm2", "sphericity", "distance_to_surface_mm", "touches_surface")
_FACES = ndimage.generate_binary_structure(3, 1)


@dataclass
class PoreTable:
    table: pd.DataFrame
    porosity_percent: float


def pore_table(
    mask_or_labels: np.ndarray,
    volume: np.ndarray | None = None,
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0),
    object_mask: np.ndarray | None = None,
    connectivity: int = 6,
) -> PoreTable:
    """Describe every pore of a binary mask (split into `connectivity`-connected components,
    scipy.ndimage) or of an integer instance-label volume (ids kept, pieces of one id stay one
    pore).

    Columns (plain, Parquet-friendly): id; centroid_z/y/x (voxel index units); bbox_z0..bbox_x1
    (half-open voxel ranges, as regionprops' bbox); voxels; volume_mm3; equivalent_diameter_vox
    = (6 voxels / pi)^(1/3) and _mm from volume_mm3; surface_area_mm2 and sphericity =
    pi^(1/3) (6 V)^(2/3) / A from a marching-cubes mesh of the instance (see
    `label.sphericity`); distance_to_surface_mm = the smallest Euclidean distance (scipy
    distance transform of the object mask with the voxel size; the closed form for a
    box-shaped object) from a pore voxel centre to the centre of the nearest voxel outside
    the object, so a pore touching the surface has one
    voxel spacing; touches_surface = a pore voxel is face-adjacent to a voxel outside the
    object; mean_intensity when `volume` is given.

    The object is `object_mask` (pores are added to it); without one, the Otsu object mask of
    `volume`; without either, the whole array (its faces are the part surface). Porosity % =
    pore voxels / object voxels * 100.
    """
    labels = _instance_labels(mask_or_labels, connectivity)
    spacing = _spacing(voxel_size)
    solid = _object(labels, volume, object_mask)
    ids = np.flatnonzero(np.bincount(labels.ravel())[1:]) + 1
    table = _geometry(labels, ids, spacing)
    table = pd.concat([table, _placement(labels, ids, solid, spacing)], axis=1)
    table["surface_area_mm2"], table["sphericity"] = _shape(labels, ids, spacing)
    if volume is not None:
        table["mean_intensity"] = (
            np.asarray(ndimage.mean(volume, labels, ids), dtype=float) if len(ids) else np.zeros(0)
        )
    columns = [c for c in COLUMNS if c in table] + [c for c in table if c not in COLUMNS]
    porosity = 100.0 * float((labels > 0).sum()) / max(int(solid.sum()), 1)
    return PoreTable(table[columns].reset_index(drop=True), porosity)


def _instance_labels(mask_or_labels: np.ndarray, connectivity: int) -> np.ndarray:
    array = check_3d(mask_or_labels, "pore_table mask_or_labels")
    if array.dtype == bool:
        return label_components(array, connectivity)
    if not np.issubdtype(array.dtype, np.integer):
        raise VolumeError(f"pore_table mask_or_labels: expected a bool mask or integer labels, got dtype {array.dtype}")
    if array.size and array.min() < 0:
        raise VolumeError("pore_table mask_or_labels: instance labels must be >= 0")
    return array.astype(np.int64, copy=False)


def _spacing(voxel_size: tuple[float, float, float]) -> tuple[float, float, float]:
    spacing = tuple(float(v) for v in voxel_size)
    if len(spacing) != 3 or min(spacing) <= 0:
        raise VolumeError(f"pore_table voxel_size: expected 3 positive sizes in mm (z, y, x), got {voxel_size!r}")
    return spacing


def _object(labels: np.ndarray, volume: np.ndarray | None, object_mask: np.ndarray | None) -> np.ndarray:
    for name, array in (("volume", volume), ("object_mask", object_mask)):
        if array is not None and np.shape(array) != labels.shape:
            raise VolumeError(
                f"pore_table {name}: shape {np.shape(array)} differs from the pore labels' {labels.shape}"
            )
    if object_mask is not None:
        solid = np.asarray(object_mask, dtype=bool)
    elif volume is not None:
        solid = otsu_object_mask(np.asarray(volume))[0]
    else:
        solid = np.ones(labels.shape, dtype=bool)
    return solid | (labels > 0)


def _geometry(labels: np.ndarray, ids: np.ndarray, spacing: tuple[float, ...]) -> pd.DataFrame:
    flat = np.flatnonzero(labels)
    owner = labels.ravel()[flat]
    counts = np.bincount(owner, minlength=int(labels.max(initial=0)) + 1)[ids]
    coords = np.unravel_index(flat, labels.shape)
    data: dict[str, np.ndarray] = {"id": ids.astype(np.int64)}
    for axis, name in enumerate("zyx"):
        sums = np.bincount(owner, weights=coords[axis], minlength=len(counts))
        data[f"centroid_{name}"] = sums[ids] / counts if len(ids) else np.zeros(0)
    boxes = ndimage.find_objects(labels)
    for axis, name in enumerate("zyx"):
        data[f"bbox_{name}0"] = np.array([boxes[i - 1][axis].start for i in ids], dtype=np.int64)
        data[f"bbox_{name}1"] = np.array([boxes[i - 1][axis].stop for i in ids], dtype=np.int64)
    data["voxels"] = counts.astype(np.int64)
    data["volume_mm3"] = counts * float(np.prod(spacing))
    data["equivalent_diameter_vox"] = np.cbrt(6.0 * counts / np.pi)
    data["equivalent_diameter_mm"] = np.cbrt(6.0 * data["volume_mm3"] / np.pi)
    return pd.DataFrame(data)


def _placement(labels: np.ndarray, ids: np.ndarray, solid: np.ndarray, spacing: tuple[float, ...]) -> pd.DataFrame:
    """Distance to the outside of the object and face contact with it; the array's border
    counts as outside. The distance transform runs on the object's bounding box only."""
    crop = _grown_box(solid)
    padded = np.pad(solid[crop], 1)
    pore_labels = np.pad(labels[crop], 1)
    pore_flat = np.flatnonzero(pore_labels)
    owner = pore_labels.ravel()[pore_flat]
    distance = _distance_to_outside(padded, pore_flat, spacing)
    strides = np.array(padded.strides) // padded.itemsize
    outside_next = np.zeros(len(pore_flat), dtype=bool)
    for step in (*strides, *(-strides)):
        outside_next |= ~padded.ravel()[pore_flat + step]
    return pd.DataFrame(
        {
            "distance_to_surface_mm": _per_id(np.minimum, distance, owner, ids, np.inf),
            "touches_surface": _per_id(np.maximum, outside_next, owner, ids, False).astype(bool),
        }
    )


def _distance_to_outside(padded: np.ndarray, flat: np.ndarray, spacing: tuple[float, ...]) -> np.ndarray:
    """Euclidean distance (mm) from the voxels `flat` of the object to the nearest voxel
    outside it. A box-shaped object (a cube part, or a block with no air) takes the closed
    form, the distance to its nearest face, instead of a distance transform of the volume."""
    inner = padded[(slice(1, -1),) * 3]
    if inner.all():
        index = np.unravel_index(flat, padded.shape)
        steps = [np.minimum(i, n - 1 - i) * s for i, n, s in zip(index, padded.shape, spacing)]
        return np.min(steps, axis=0).astype(float)
    return ndimage.distance_transform_edt(padded, sampling=spacing).ravel()[flat]


def _grown_box(mask: np.ndarray) -> tuple[slice, ...]:
    boxes = ndimage.find_objects(mask.astype(np.int8))
    return boxes[0] if boxes and boxes[0] is not None else (slice(0, 0),) * 3


def _per_id(ufunc: np.ufunc, values: np.ndarray, owner: np.ndarray, ids: np.ndarray, empty: float) -> np.ndarray:
    """`ufunc` reduction of `values` grouped by `owner`, one result per id in `ids`."""
    out = np.full(int(ids.max(initial=0)) + 1, empty, dtype=np.asarray(values).dtype)
    ufunc.at(out, owner, values)
    return out[ids]


def _shape(labels: np.ndarray, ids: np.ndarray, spacing: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    boxes = ndimage.find_objects(labels)
    area = np.zeros(len(ids))
    sphericity = np.zeros(len(ids))
    for row, pore_id in enumerate(ids):
        instance = labels[boxes[pore_id - 1]] == pore_id
        area[row], sphericity[row] = surface_and_sphericity(instance, spacing)
    return area, sphericity
