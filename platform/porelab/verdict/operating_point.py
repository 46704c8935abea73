"""The operating point: how a model's score map becomes the pores a verdict reports.

A connected region of voxels scoring at least `low_threshold` is a candidate; it is kept when
its highest score reaches `threshold` (hysteresis: seeded at a high score, grown at a low
one; `low_threshold == threshold` is a plain threshold). A kept region whose equivalent
diameter is under `min_diameter_vox` is an indication below the detection limit: listed
apart, never counted as a pore. With `boundary_radius_vox` > 0 every candidate region is first
grown, up to that many voxels, to its local ISO grey-value surface
(`porelab.verdict.boundary`). A region lying wholly within `axis_guard_vox` of the rotation
axis, where ring artefacts converge, is an indication too (`porelab.verdict.axis`). Each trained model stores the point chosen for it on
held-out scans (`porelab.verdict.calibrate`) with the figures it reached there; `source`
says where it came from.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from porelab.errors import ConfigError
from porelab.verdict.axis import AXIS_GUARD_VOX

OBJECTIVES = ("dice", "false_calls")


@dataclass(frozen=True)
class OperatingPoint:
    """Seed and grow thresholds, minimum reported pore size, and their provenance.

    Args:
        threshold: a region is a pore when its highest score reaches this.
        low_threshold: voxels scoring at least this join a seeded region (<= threshold).
        min_diameter_vox: smaller regions (equivalent diameter, voxels) are indications.
        boundary_radius_vox: how far a region may grow to its grey-value surface (0: not).
        boundary_iso: where that surface lies between the pore's grey level (0) and the
            material's (1); 0.5 is the metrology convention, ISO-50.
        axis_guard_vox: a region wholly within this many voxels of the rotation axis is an
            indication (ring artefacts converge there); 0: no guard.
        objective: what chose it: "dice" (highest mean Dice), "false_calls" (most pores
            found within a false-call rate), "default" (no calibration) or "user".
        source: the scans it was chosen on, or who set it.
        metrics: the figures it reached on those scans (mean Dice, false calls per cm^3, ...).
    """

    threshold: float = 0.5
    low_threshold: float | None = None
    min_diameter_vox: float = 0.0
    boundary_radius_vox: int = 0
    boundary_iso: float = 0.5
    axis_guard_vox: float = AXIS_GUARD_VOX
    objective: str = "default"
    source: str = "the checkpoint's fixed threshold (not calibrated)"
    metrics: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not math.isfinite(self.threshold):
            raise ConfigError(f"operating point threshold={self.threshold}: expected a finite score")
        if self.low_threshold is not None and not self.low_threshold <= self.threshold:
            raise ConfigError(
                f"operating point low_threshold={self.low_threshold}: expected <= threshold {self.threshold}"
            )
        if not self.min_diameter_vox >= 0:
            raise ConfigError(f"operating point min_diameter_vox={self.min_diameter_vox}: expected >= 0")
        if int(self.boundary_radius_vox) != self.boundary_radius_vox or self.boundary_radius_vox < 0:
            raise ConfigError(
                f"operating point boundary_radius_vox={self.boundary_radius_vox}: expected a whole "
                "number of voxels >= 0"
            )
        if not self.axis_guard_vox >= 0:
            raise ConfigError(f"operating point axis_guard_vox={self.axis_guard_vox}: expected a radius >= 0 voxels")
        if not 0.0 < self.boundary_iso < 1.0:
            raise ConfigError(f"operating point boundary_iso={self.boundary_iso}: expected a fraction in (0, 1)")

    @property
    def grow_threshold(self) -> float:
        return self.threshold if self.low_threshold is None else float(self.low_threshold)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "low_threshold": self.grow_threshold}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "OperatingPoint":
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"operating point: unknown fields {sorted(unknown)}; expected some of {sorted(known)}")
        return cls(**data)

    def overridden(
        self,
        threshold: float | None = None,
        low_threshold: float | None = None,
        min_diameter_vox: float | None = None,
        boundary_radius_vox: int | None = None,
        axis_guard_vox: float | None = None,
    ) -> "OperatingPoint":
        """This point with what the user set on the command line (`--threshold` alone means
        no hysteresis and no size limit unless those are given too; the boundary refinement
        and the axis guard stay unless given)."""
        given = (threshold, low_threshold, min_diameter_vox, boundary_radius_vox, axis_guard_vox)
        if all(value is None for value in given):
            return self
        changed = replace(self, objective="user", source="set by the user", metrics={})
        if threshold is not None:
            changed = replace(changed, threshold=float(threshold), low_threshold=None, min_diameter_vox=0.0)
        if low_threshold is not None:
            changed = replace(changed, low_threshold=float(low_threshold))
        if min_diameter_vox is not None:
            changed = replace(changed, min_diameter_vox=float(min_diameter_vox))
        if boundary_radius_vox is not None:
            changed = replace(changed, boundary_radius_vox=int(boundary_radius_vox))
        if axis_guard_vox is not None:
            changed = replace(changed, axis_guard_vox=float(axis_guard_vox))
        return changed


def stored_operating_point(payload: dict[str, Any]) -> OperatingPoint:
    """The operating point a checkpoint holds; a checkpoint from before calibration gives its
    fixed threshold, stated as uncalibrated."""
    stored = payload.get("operating_point")
    if stored:
        return OperatingPoint.from_dict(stored)
    return OperatingPoint(threshold=float(payload.get("threshold", 0.5)))
