"""From a score map and the part to the verdict: pores (internal or surface), indications,
porosity of the part.

Slab by slab (`porelab.label.streaming.SlabComponents`): candidates are the 6-connected
regions of part voxels scoring at least the operating point's grow threshold (grown to their
grey-value surface when the point says so, `porelab.verdict.boundary`); a region is
kept when its highest score reaches the seed threshold (hysteresis); a kept region is a
surface pore when it reaches the part's open surface, internal otherwise; a kept region
under the minimum diameter, or lying wholly within the operating point's guard about the
rotation axis (`porelab.verdict.axis`), is an indication, and its `reason` says which. A
second pass writes the class of every voxel. Nothing outside the part is ever called a pore.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from porelab.errors import ConfigError
from porelab.label.streaming import STREAMING_COLUMNS, SlabComponents
from porelab.verdict.axis import off_axis
from porelab.verdict.boundary import candidate_voxels, refinement_halo
from porelab.verdict.operating_point import OperatingPoint

INTERNAL, SURFACE = 1, 2
CLASS_NAMES = {INTERNAL: "internal", SURFACE: "surface"}
_COLUMNS = ("id", "defect_class", *STREAMING_COLUMNS[1:], "max_score")
BELOW_LIMIT, ON_AXIS = "below the detection limit", "on the rotation axis"

MaskSink = Callable[[int, np.ndarray], None]  # (z0, uint8 class slab)


@dataclass(frozen=True, eq=False)
class Verdict:
    """What the tool reports for one volume.

    `pores` and `indications` have one row per region (ids 1..n each), with `defect_class`;
    an indication's `reason` says why it is not a pore (`BELOW_LIMIT`, `ON_AXIS`); porosity
    is pore volume over part volume (pores included), in percent.
    """

    pores: pd.DataFrame
    indications: pd.DataFrame
    part_voxels: int
    voxel_size: tuple[float, float, float]
    operating_point: OperatingPoint

    @property
    def pore_voxels(self) -> int:
        return int(self.pores["voxels"].sum()) if len(self.pores) else 0

    @property
    def porosity_percent(self) -> float:
        return 100.0 * self.pore_voxels / self.part_voxels if self.part_voxels else float("nan")

    @property
    def part_volume_mm3(self) -> float:
        return self.part_voxels * float(np.prod(self.voxel_size))

    def summary(self) -> dict[str, Any]:
        """The verdict's numbers as summary.json and the service state them."""
        by_class = {name: int((self.pores["defect_class"] == name).sum()) for name in CLASS_NAMES.values()}
        volume = {
            name: float(self.pores.loc[self.pores["defect_class"] == name, "volume_mm3"].sum())
            for name in CLASS_NAMES.values()
        }
        reasons = self.indications["reason"] if len(self.indications) else pd.Series(dtype=str)
        return {
            "porosity_percent": self.porosity_percent,
            "pore_count": int(len(self.pores)),
            "pore_voxels": self.pore_voxels,
            "pore_volume_mm3": float(self.pores["volume_mm3"].sum()) if len(self.pores) else 0.0,
            "pores_by_class": by_class,
            "pore_volume_mm3_by_class": volume,
            "part_voxels": self.part_voxels,
            "part_volume_mm3": self.part_volume_mm3,
            "indications_below_detection_limit": int((reasons == BELOW_LIMIT).sum()),
            "indications_on_rotation_axis": int((reasons == ON_AXIS).sum()),
            "operating_point": self.operating_point.to_dict(),
        }


class _Slabs:
    """The slabs both passes read: score and part, and the scan where boundaries are refined
    (read with a halo of planes so a slab's refinement equals the whole volume's)."""

    def __init__(self, score: Any, inspected: Any, slab: int, scan: Any, point: OperatingPoint) -> None:
        self.score, self.inspected, self.slab, self.scan, self.point = score, inspected, slab, scan, point
        self.depth = int(score.shape[0])
        self.halo = refinement_halo(point.boundary_radius_vox)

    def candidates(self, z0: int, grow: float) -> tuple[np.ndarray, np.ndarray]:
        low, high = max(z0 - self.halo, 0), min(z0 + self.slab + self.halo, self.depth)
        score = np.asarray(self.score[low:high], dtype=np.float32)
        _release(self.score)
        inside = np.asarray(self.inspected[low:high]) > 0
        grey = np.asarray(self.scan[low:high]) if self.halo else None
        mask = candidate_voxels(score, inside, grow, grey, self.point.boundary_radius_vox, self.point.boundary_iso)
        if self.halo:
            _release(self.scan)
        keep = slice(z0 - low, z0 - low + min(self.slab, self.depth - z0))
        return mask[keep], score[keep]


def _release(source: Any) -> None:
    if hasattr(source, "release_pages"):
        source.release_pages()


class Decision:
    """The verdict of one score map and, read slab by slab, its class mask (uint8: 0 none,
    1 internal pore, 2 surface pore; indications stay 0). It has `shape`, `dtype` and
    slicing along z, so `porelab.volume.write` streams it to a file."""

    def __init__(
        self, verdict: Verdict, regions: SlabComponents, slabs: _Slabs, lookup: np.ndarray, grow: float
    ) -> None:
        self.verdict, self._regions, self._slabs, self._lookup, self._grow = verdict, regions, slabs, lookup, grow
        self._cached: tuple[int, np.ndarray] | None = None
        self.shape, self.dtype, self.ndim = tuple(slabs.score.shape), np.dtype(np.uint8), 3

    @property
    def slab_starts(self) -> list[int]:
        """The z of each slab's first plane (`class_slab(i)` starts there)."""
        return self._regions.slab_starts

    def class_slab(self, index: int) -> np.ndarray:
        """The class mask of the `index`-th slab (slabs start at `slab_starts`)."""
        if self._cached is None or self._cached[0] != index:
            mask, _ = self._slabs.candidates(self.slab_starts[index], self._grow)
            self._cached = (index, self._lookup[self._regions.labels(index, mask)])
        return self._cached[1]

    def __getitem__(self, key: Any) -> np.ndarray:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError(f"a class mask is read in z slabs (mask[z0:z1]), got {key!r}")
        z0, z1, _ = key.indices(self.shape[0])
        slab = self._slabs.slab
        parts = [self.class_slab(i)[max(z0 - i * slab, 0) : z1 - i * slab] for i in range(z0 // slab, -(-z1 // slab))]
        return np.concatenate(parts) if parts else np.zeros((0,) + self.shape[1:], np.uint8)


def judge(
    score: Any,
    part: Any,
    operating_point: OperatingPoint,
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0),
    *,
    scan: Any = None,
    slab: int = 32,
) -> Decision:
    """The verdict of a score map (array-like, read slab by slab) within `part`; its class mask
    is read from the returned `Decision` afterwards (a second pass over the score).

    Args:
        score: the model's pore score, (z, y, x).
        part: the region of interest: anything with `part`, `inspected` and `open_surface`
            arrays (or slab-readable volumes) of the score's shape, e.g. a `PartSegmentation`.
        operating_point: thresholds, minimum size, boundary refinement.
        scan: the grey volume the score was computed from (array-like, read slab by slab);
            needed when the operating point refines boundaries.
        slab: slices per pass step.

    Example:
        >>> seg = segment_part(volume)
        >>> decision = judge(score, seg, OperatingPoint(0.6, 0.3, 2.0))
        >>> decision.verdict.porosity_percent, decision[0:10].max()  # the class mask's first slices
    """
    if operating_point.boundary_radius_vox and scan is None:
        raise ConfigError(
            "judge: the operating point refines pore boundaries on the grey values "
            f"(boundary_radius_vox={operating_point.boundary_radius_vox}); expected the scan"
        )
    slabs = _Slabs(score, part.inspected, slab, scan, operating_point)
    grow, seed = operating_point.grow_threshold, operating_point.threshold
    regions = SlabComponents(flag_names=("surface", "off_axis"))
    part_voxels = 0
    for z0 in range(0, slabs.depth, slab):
        mask, values = slabs.candidates(z0, grow)
        part_voxels += int(np.count_nonzero(np.asarray(part.part[z0 : z0 + slab])))
        regions.add(
            mask,
            value=values,
            flags={
                "surface": np.asarray(part.open_surface[z0 : z0 + slab]) > 0,
                "off_axis": off_axis(mask.shape, operating_point.axis_guard_vox),
            },
        )
    table = regions.finish(voxel_size)
    kept = table["max_value"].to_numpy() >= seed
    large = table["equivalent_diameter_vox"].to_numpy() >= operating_point.min_diameter_vox
    beside_axis = table["off_axis"].to_numpy(dtype=bool)
    pore = kept & large & beside_axis
    classes = np.where(table["surface"].to_numpy(dtype=bool), SURFACE, INTERNAL)
    lookup = np.zeros(len(table) + 1, np.uint8)
    lookup[1:] = np.where(pore, classes, 0)
    named = table.assign(
        defect_class=[CLASS_NAMES[c] for c in classes], reason=np.where(large, ON_AXIS, BELOW_LIMIT)
    ).rename(columns={"max_value": "max_score"})
    verdict = Verdict(
        _renumbered(named[pore]),
        _renumbered(named[kept & ~pore], ("reason",)),
        part_voxels,
        tuple(float(v) for v in voxel_size),
        operating_point,
    )  # type: ignore[arg-type]
    return Decision(verdict, regions, slabs, lookup, grow)


def decide(
    score: Any,
    part: Any,
    operating_point: OperatingPoint,
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0),
    *,
    scan: Any = None,
    slab: int = 32,
    mask_sink: MaskSink | None = None,
) -> Verdict:
    """`judge`'s verdict; `mask_sink` receives (z0, slab) of the class mask when given."""
    decision = judge(score, part, operating_point, voxel_size, scan=scan, slab=slab)
    if mask_sink is not None:
        for index, z0 in enumerate(decision.slab_starts):
            mask_sink(z0, decision.class_slab(index))
    return decision.verdict


def _renumbered(table: pd.DataFrame, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    return table[[*_COLUMNS, *extra]].reset_index(drop=True).assign(id=lambda t: np.arange(1, len(t) + 1))


def class_mask(
    score: np.ndarray,
    part: Any,
    operating_point: OperatingPoint,
    voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0),
    *,
    scan: Any = None,
) -> tuple[np.ndarray, Verdict]:
    """In memory: the class mask (uint8: 0, INTERNAL, SURFACE) and the verdict."""
    out = np.zeros(np.shape(score), np.uint8)

    def sink(z0: int, block: np.ndarray) -> None:
        out[z0 : z0 + block.shape[0]] = block

    verdict = decide(
        score, part, operating_point, voxel_size, scan=scan, slab=max(1, int(np.shape(score)[0])), mask_sink=sink
    )
    return out, verdict
