"""The last step of `predict`: from a written score map to the verdict files.

The part is the region of interest (found in the scan, or the user's `--part-mask`); the
operating point is the checkpoint's calibrated one unless the user overrides it; the verdict
(`porelab.verdict.judge`) streams the class mask (`mask.tif`: 0 none, 1 internal pore,
2 surface pore), the part (`part.tif`), the pores (`pores.parquet`) and the indications below
the detection limit (`indications.parquet`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from porelab import volume
from porelab.data.normalise import strided_sample
from porelab.errors import ConfigError, VolumeError
from porelab.label.from_anomaly import anomaly_threshold
from porelab.verdict import CalibrationConfig, OperatingPoint, PartConfig, judge, part_from_mask, pick
from porelab.verdict import stored_operating_point
from porelab.verdict.large_part import find_part

MASK, PART, PORES, INDICATIONS = "mask.tif", "part.tif", "pores.parquet", "indications.parquet"


@dataclass(frozen=True)
class VerdictConfig:
    """What the user may set about the verdict (all default to the checkpoint's calibration).

    Args:
        threshold: seed threshold; alone it also sets the grow threshold and no size limit.
        low_threshold: grow threshold (hysteresis).
        min_diameter_vox: smaller regions are indications, not pores.
        boundary_radius_vox: how far regions grow to their grey-value surface (0: not).
        axis_guard_vox: regions wholly within this radius of the rotation axis are
            indications (0: no guard; `porelab.verdict.axis`).
        false_calls_per_cm3: pick the stored calibration's candidate that finds the most
            pores within this false-call rate instead of the calibrated point.
        part_mask: a file holding the part (nonzero), of the scan's shape; default: found.
        part: how the part is found when no mask is given.
    """

    threshold: float | None = None
    low_threshold: float | None = None
    min_diameter_vox: float | None = None
    boundary_radius_vox: int | None = None
    axis_guard_vox: float | None = None
    false_calls_per_cm3: float | None = None
    part_mask: str | None = None
    part: PartConfig = field(default_factory=PartConfig)


def _uncalibrated_anomaly_point(score: Any) -> OperatingPoint:
    """An anomaly checkpoint from before calibration: Otsu's threshold of this volume's positive
    scores (reconstruction errors have no fixed scale)."""
    return OperatingPoint(
        threshold=anomaly_threshold(strided_sample(score)),
        objective="default",
        source="Otsu's threshold of this volume's positive scores (anomaly model, not calibrated)",
    )


def _calibrated_for_rate(payload: dict[str, Any], rate: float) -> OperatingPoint:
    candidates = (payload.get("calibration") or {}).get("candidates")
    if not candidates:
        raise ConfigError(
            f"--false-calls-per-cm3 {rate:g}: the checkpoint holds no calibration table; "
            "expected a model calibrated by the cross-validation or `porelab evaluate --calibrate`"
        )
    scans = ", ".join(payload["calibration"].get("scans", []))
    point = pick(pd.DataFrame(candidates), CalibrationConfig("false_calls", rate), f"the calibration scans ({scans})")
    stored = stored_operating_point(payload)
    return replace(point, boundary_radius_vox=stored.boundary_radius_vox, boundary_iso=stored.boundary_iso)


def operating_point_for(
    payload: dict[str, Any], score: Any, anomaly: bool, config: VerdictConfig = VerdictConfig()
) -> OperatingPoint:
    """The operating point a model's score map is judged at: the checkpoint's calibrated one (or
    the one for a false-call rate), overridden by what the user set."""
    if config.false_calls_per_cm3 is not None:
        point = _calibrated_for_rate(payload, config.false_calls_per_cm3)
    elif anomaly and "operating_point" not in payload:
        point = _uncalibrated_anomaly_point(score)
    else:
        point = stored_operating_point(payload)
    return point.overridden(
        config.threshold,
        config.low_threshold,
        config.min_diameter_vox,
        config.boundary_radius_vox,
        config.axis_guard_vox,
    )


def region_of_interest(vol: Any, config: VerdictConfig, max_bytes: int) -> Any:
    """The user's part mask (checked against the scan) or the part found in `vol`."""
    if config.part_mask is None:
        return find_part(vol, config.part, max_bytes)
    mask = volume.read(config.part_mask)
    if tuple(mask.shape) != tuple(vol.shape):
        raise VolumeError(
            f"{config.part_mask}: part mask of shape {tuple(mask.shape)}; expected the scan's shape "
            f"{tuple(vol.shape)} (z, y, x)"
        )
    return part_from_mask(mask.to_numpy())


class _PartView:
    """The part as uint8 (1 part, 0 outside), slab by slab, for `porelab.volume.write`."""

    def __init__(self, part: Any) -> None:
        self.source, self.shape, self.dtype, self.ndim = part, tuple(part.shape), np.dtype(np.uint8), 3

    def __getitem__(self, key: Any) -> np.ndarray:
        return np.asarray(self.source[key]).astype(np.uint8)


def write_verdict(
    score: Any,
    scan: Any,
    part: Any,
    point: OperatingPoint,
    voxel_size: tuple[float, float, float],
    out_dir: Path,
    slab_bytes: int,
) -> dict[str, Any]:
    """Judge `score` (of the grey `scan`) within `part` at `point`; write the verdict files; the
    summary's fields."""
    slab = max(1, slab_bytes // max(int(np.prod(score.shape[1:])) * 4, 1))
    decision = judge(score, part, point, voxel_size, scan=scan, slab=slab)
    volume.write(volume.Volume(decision, voxel_size), out_dir / MASK, overwrite=True, slab_bytes=slab_bytes)
    volume.write(volume.Volume(_PartView(part.part), voxel_size), out_dir / PART, overwrite=True, slab_bytes=slab_bytes)
    decision.verdict.pores.to_parquet(out_dir / PORES, index=False)
    decision.verdict.indications.to_parquet(out_dir / INDICATIONS, index=False)
    return {**decision.verdict.summary(), "part": part.describe(voxel_size)}
