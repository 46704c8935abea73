"""Pore tables of masks too big for memory: 6-connected components slab by slab.

scipy and cc3d label whole arrays; here each z slab is labelled alone, components touching
across a slab boundary are merged with a union-find, and per-component sums (voxels,
coordinates, bounding boxes) are merged with them. Memory: one slab of labels plus a few
numbers per component. The table has the geometric columns of `pore_table`; shape and
surface-distance columns need the whole component and are left to `pore_table`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

_FACES = ndimage.generate_binary_structure(3, 1)
STREAMING_COLUMNS = ("id", "centroid_z", "centroid_y", "centroid_x", "bbox_z0", "bbox_y0", "bbox_x0",
                     "bbox_z1", "bbox_y1", "bbox_x1", "voxels", "volume_mm3", "equivalent_diameter_vox",
                     "equivalent_diameter_mm")


class _UnionFind:
    def __init__(self) -> None:
        self.parent: list[int] = []

    def add(self, count: int) -> None:
        self.parent.extend(range(len(self.parent), len(self.parent) + count))

    def find(self, item: int) -> int:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass
class _Stats:
    voxels: list[np.ndarray] = field(default_factory=list)
    sums: list[np.ndarray] = field(default_factory=list)
    low: list[np.ndarray] = field(default_factory=list)
    high: list[np.ndarray] = field(default_factory=list)

    def add_slab(self, labels: np.ndarray, count: int, z0: int) -> None:
        coords = np.nonzero(labels)  # pores are sparse: memory follows the pore voxels, not the slab
        owner = labels[coords]
        self.voxels.append(np.bincount(owner, minlength=count + 1)[1:].astype(np.int64))
        self.sums.append(np.stack([np.bincount(owner, weights=c + (z0 if axis == 0 else 0), minlength=count + 1)[1:]
                                   for axis, c in enumerate(coords)], axis=1).reshape(-1, 3))
        boxes = ndimage.find_objects(labels, max_label=count)
        self.low.append(np.array([[s.start + (z0 if a == 0 else 0) for a, s in enumerate(b)] for b in boxes],
                                 dtype=np.int64).reshape(-1, 3))
        self.high.append(np.array([[s.stop + (z0 if a == 0 else 0) for a, s in enumerate(b)] for b in boxes],
                                  dtype=np.int64).reshape(-1, 3))


def streaming_pore_table(mask: Any, voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0),
                         slab: int = 32) -> pd.DataFrame:
    """One row per 6-connected component of `mask` (array-like, indexed slab by slab)."""
    depth = int(mask.shape[0])
    union, stats = _UnionFind(), _Stats()
    offset, previous_plane = 0, None
    for z0 in range(0, depth, slab):
        labels, count = ndimage.label(np.asarray(mask[z0:z0 + slab]) > 0, structure=_FACES)
        union.add(count)
        stats.add_slab(labels, count, z0)
        if previous_plane is not None:
            touching = (previous_plane > 0) & (labels[0] > 0)
            for a, b in set(zip(previous_plane[touching].tolist(), (labels[0][touching] + offset).tolist())):
                union.union(a - 1, b - 1)
        previous_plane = np.where(labels[-1] > 0, labels[-1] + offset, 0)
        offset += count
    return _merge(union, stats, offset, voxel_size)


def _merge(union: _UnionFind, stats: _Stats, count: int, voxel_size: tuple[float, float, float]) -> pd.DataFrame:
    if count == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in STREAMING_COLUMNS})
    roots = np.array([union.find(i) for i in range(count)])
    _, component = np.unique(roots, return_inverse=True)
    n = component.max() + 1
    voxels = np.bincount(component, weights=np.concatenate(stats.voxels), minlength=n)
    sums = np.stack([np.bincount(component, weights=col, minlength=n) for col in np.concatenate(stats.sums).T], 1)
    low, high = np.full((n, 3), np.iinfo(np.int64).max), np.zeros((n, 3), np.int64)
    np.minimum.at(low, component, np.concatenate(stats.low))
    np.maximum.at(high, component, np.concatenate(stats.high))
    volume_mm3 = voxels * float(np.prod(voxel_size))
    table = pd.DataFrame({"id": np.arange(1, n + 1)})
    for i, axis in enumerate("zyx"):
        table[f"centroid_{axis}"] = sums[:, i] / voxels
    for i, axis in enumerate("zyx"):
        table[f"bbox_{axis}0"] = low[:, i]
    for i, axis in enumerate("zyx"):
        table[f"bbox_{axis}1"] = high[:, i]
    table["voxels"] = voxels.astype(np.int64)
    table["volume_mm3"] = volume_mm3
    table["equivalent_diameter_vox"] = np.cbrt(6 * voxels / np.pi)
    table["equivalent_diameter_mm"] = np.cbrt(6 * volume_mm3 / np.pi)
    return table.sort_values(["bbox_z0", "bbox_y0", "bbox_x0"]).reset_index(drop=True).assign(
        id=lambda t: np.arange(1, len(t) + 1))
