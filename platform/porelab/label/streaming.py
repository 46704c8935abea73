"""Connected components of masks too big for memory: 6-connected, slab by slab.

scipy and cc3d label whole arrays; here each z slab is labelled alone, components touching
across a slab boundary are merged with a union-find, and per-component sums (voxels,
coordinates, bounding boxes, the highest value of a score, flags) are merged with them.
Memory: one slab of labels plus a few numbers per component.

`SlabComponents` is fed the slabs in order (`add`), then `finish` gives one row per
component; `labels` relabels a slab's mask afterwards with the final ids (a second pass that
recomputes the slab's local labels, which scipy makes deterministically), so a component
decision can be written back voxel by voxel. `streaming_pore_table` is the one-pass use.
The table has the geometric columns of `pore_table`; shape and surface-distance columns need
the whole component and are left to `pore_table`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import ndimage

from porelab.errors import ConfigError

_FACES = ndimage.generate_binary_structure(3, 1)
STREAMING_COLUMNS = (
    "id",
    "centroid_z",
    "centroid_y",
    "centroid_x",
    "bbox_z0",
    "bbox_y0",
    "bbox_x0",
    "bbox_z1",
    "bbox_y1",
    "bbox_x1",
    "voxels",
    "volume_mm3",
    "equivalent_diameter_vox",
    "equivalent_diameter_mm",
)


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
    peak: list[np.ndarray] = field(default_factory=list)
    flags: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add_slab(
        self, labels: np.ndarray, count: int, z0: int, value: np.ndarray | None, flags: dict[str, np.ndarray]
    ) -> None:
        coords = np.nonzero(labels)  # pores are sparse: memory follows the pore voxels, not the slab
        owner = labels[coords]
        self.voxels.append(np.bincount(owner, minlength=count + 1)[1:].astype(np.int64))
        self.sums.append(
            np.stack(
                [
                    np.bincount(owner, weights=c + (z0 if axis == 0 else 0), minlength=count + 1)[1:]
                    for axis, c in enumerate(coords)
                ],
                axis=1,
            ).reshape(-1, 3)
        )
        boxes = ndimage.find_objects(labels, max_label=count)
        self.low.append(
            np.array(
                [[s.start + (z0 if a == 0 else 0) for a, s in enumerate(b)] for b in boxes], dtype=np.int64
            ).reshape(-1, 3)
        )
        self.high.append(
            np.array(
                [[s.stop + (z0 if a == 0 else 0) for a, s in enumerate(b)] for b in boxes], dtype=np.int64
            ).reshape(-1, 3)
        )
        peak = np.full(count + 1, -np.inf)
        if value is not None:
            np.maximum.at(peak, owner, np.asarray(value)[coords].astype(np.float64))
        self.peak.append(peak[1:])
        for name, flag in flags.items():
            seen = np.bincount(owner, weights=np.asarray(flag)[coords], minlength=count + 1)[1:] > 0
            self.flags.setdefault(name, []).append(seen)


class SlabComponents:
    """6-connected components of a mask handed over slab by slab, top (z = 0) down.

    Args:
        flag_names: names of the boolean arrays each `add` may carry; the table gets a column
            per name saying whether any voxel of the component had that flag.

    Example:
        >>> parts = SlabComponents()
        >>> for z0 in range(0, depth, 16):
        ...     parts.add(mask[z0:z0 + 16], value=score[z0:z0 + 16])
        >>> table = parts.finish(voxel_size)          # one row per component, with max_value
        >>> ids = parts.labels(0, mask[0:16])         # the first slab's voxels by component id
    """

    def __init__(self, flag_names: tuple[str, ...] = ()) -> None:
        self.flag_names = tuple(flag_names)
        self._union, self._stats = _UnionFind(), _Stats()
        self._offsets: list[int] = []
        self._z0: list[int] = []
        self._next_z0 = 0
        self._count = 0
        self._previous_plane: np.ndarray | None = None
        self._final: np.ndarray | None = None

    def add(self, mask: Any, value: np.ndarray | None = None, flags: dict[str, np.ndarray] | None = None) -> None:
        """The next slab of the mask (any array-like > 0), the value whose per-component
        maximum the table keeps, and the flags named at construction."""
        if self._final is not None:
            raise ConfigError("SlabComponents.add: finish() was already called")
        flags = flags or {}
        if set(flags) != set(self.flag_names):
            raise ConfigError(f"SlabComponents.add: flags {sorted(flags)}; expected {sorted(self.flag_names)}")
        z0 = self._next_z0
        labels, count = ndimage.label(np.asarray(mask) > 0, structure=_FACES)
        self._next_z0 += labels.shape[0]
        self._union.add(count)
        self._stats.add_slab(labels, count, z0, value, flags)
        if self._previous_plane is not None:
            touching = (self._previous_plane > 0) & (labels[0] > 0)
            pairs = set(zip(self._previous_plane[touching].tolist(), (labels[0][touching] + self._count).tolist()))
            for a, b in pairs:
                self._union.union(a - 1, b - 1)
        self._previous_plane = np.where(labels[-1] > 0, labels[-1] + self._count, 0)
        self._offsets.append(self._count)
        self._z0.append(z0)
        self._count += count

    def finish(self, voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> pd.DataFrame:
        """One row per component, ids 1..n in order of their bounding box's first corner;
        `max_value` when values were given, one bool column per flag."""
        stats, count = self._stats, self._count
        if count == 0:
            self._final = np.zeros(1, np.int64)
            columns = [*STREAMING_COLUMNS, "max_value", *self.flag_names]
            return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
        roots = np.array([self._union.find(i) for i in range(count)])
        _, component = np.unique(roots, return_inverse=True)
        n = int(component.max()) + 1
        voxels = np.bincount(component, weights=np.concatenate(stats.voxels), minlength=n)
        sums = np.stack([np.bincount(component, weights=col, minlength=n) for col in np.concatenate(stats.sums).T], 1)
        low, high = np.full((n, 3), np.iinfo(np.int64).max), np.zeros((n, 3), np.int64)
        np.minimum.at(low, component, np.concatenate(stats.low))
        np.maximum.at(high, component, np.concatenate(stats.high))
        peak = np.full(n, -np.inf)
        np.maximum.at(peak, component, np.concatenate(stats.peak))
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
        table["max_value"] = peak
        for name in self.flag_names:
            seen = np.zeros(n, bool)
            np.logical_or.at(seen, component, np.concatenate(stats.flags[name]))
            table[name] = seen
        order = table.sort_values(["bbox_z0", "bbox_y0", "bbox_x0"], kind="stable").index.to_numpy()
        rank = np.empty(n, np.int64)
        rank[order] = np.arange(1, n + 1)
        self._final = np.concatenate([[0], rank[component]])  # local label + offset + 1 -> final id
        return table.loc[order].reset_index(drop=True).assign(id=np.arange(1, n + 1))

    def labels(self, index: int, mask: Any) -> np.ndarray:
        """Final component ids (int64, 0 = background) of slab `index`, given its mask again."""
        if self._final is None:
            raise ConfigError("SlabComponents.labels: call finish() first")
        local, _ = ndimage.label(np.asarray(mask) > 0, structure=_FACES)
        shifted = np.where(local > 0, local + self._offsets[index], 0)
        return self._final[shifted]

    @property
    def slab_starts(self) -> list[int]:
        """The z of each slab's first plane, in the order they were added."""
        return list(self._z0)


def streaming_pore_table(
    mask: Any, voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0), slab: int = 32
) -> pd.DataFrame:
    """One row per 6-connected component of `mask` (array-like, indexed slab by slab)."""
    parts = SlabComponents()
    for z0 in range(0, int(mask.shape[0]), slab):
        parts.add(mask[z0 : z0 + slab])
    return parts.finish(voxel_size)[list(STREAMING_COLUMNS)]
