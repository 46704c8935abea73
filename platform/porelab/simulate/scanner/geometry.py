"""The 2D slice geometry one ASTRA call needs, built from a `ScanSpec` and a voxel grid.

Cone beam on the CPU is treated as a fan beam per detector row (the mid-plane approximation:
each z slice is projected and reconstructed in its own plane, which is exact for the central
row and ignores the cone angle elsewhere; the papers' cone angles are below 4 degrees).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from porelab.errors import ConfigError
from porelab.simulate.scanner.spec import ScanSpec


@dataclass(frozen=True)
class SliceGeometry:
    """Geometry of one slice: an (ny, nx) grid of `pixel_mm` pixels and a 1-D detector.

    `kind` is "parallel" or "fan" (cone beam arrives here as fan). Detector pixels are in mm
    at the detector; `center_offset_px` moves the rotation axis along the detector.
    """

    kind: str
    ny: int
    nx: int
    pixel_mm: float
    angles: np.ndarray
    detector_cols: int
    detector_pixel_mm: float
    source_object_mm: float = 0.0
    source_detector_mm: float = 0.0
    center_offset_px: float = 0.0

    @property
    def magnification(self) -> float:
        return 1.0 if self.kind == "parallel" else self.source_detector_mm / self.source_object_mm

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["angles"] = [float(a) for a in self.angles]
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "SliceGeometry":
        return cls(**{**values, "angles": np.asarray(values["angles"], dtype=np.float64)})


def scan_angles(spec: ScanSpec) -> np.ndarray:
    """Evenly spaced rotation angles (radians) over the spec's angular range."""
    return np.linspace(0.0, spec.angular_range, spec.n_projections, endpoint=False)


def _fitted_detector_cols(ny: int, nx: int) -> int:
    """Enough detector pixels (one voxel each at the axis) to see the grid's diagonal."""
    return int(math.ceil(math.hypot(ny, nx))) + 4


def slice_geometry(
    spec: ScanSpec, grid_shape: tuple[int, int, int], voxel_size: tuple[float, float, float]
) -> SliceGeometry:
    """The per-slice geometry for scanning a (z, y, x) grid of `voxel_size` mm with `spec`."""
    _, ny, nx = grid_shape
    vz, vy, vx = voxel_size
    if not math.isclose(vy, vx, rel_tol=1e-6):
        raise ConfigError(f"voxel_size={voxel_size}: in-plane voxels must be square (y == x) for ASTRA's 2D geometry")
    cols = spec.detector_cols or _fitted_detector_cols(ny, nx)
    pixel = spec.detector_pixel_mm or vx * spec.magnification
    kind = "parallel" if spec.geometry == "parallel" else "fan"
    return SliceGeometry(
        kind=kind,
        ny=ny,
        nx=nx,
        pixel_mm=vx,
        angles=scan_angles(spec),
        detector_cols=cols,
        detector_pixel_mm=pixel,
        source_object_mm=spec.source_object_mm,
        source_detector_mm=spec.source_detector_mm,
    )


def astra_vol_geom(geom: SliceGeometry) -> dict:
    """ASTRA 2D volume geometry in mm, centred on the rotation axis."""
    import astra

    half_w, half_h = geom.nx * geom.pixel_mm / 2, geom.ny * geom.pixel_mm / 2
    return astra.create_vol_geom(geom.ny, geom.nx, -half_w, half_w, -half_h, half_h)


def astra_proj_geom(geom: SliceGeometry) -> dict:
    """ASTRA 2D projection geometry (parallel or flat fan) in mm."""
    import astra

    if geom.kind == "parallel":
        return astra.create_proj_geom("parallel", geom.detector_pixel_mm, geom.detector_cols, geom.angles)
    return astra.create_proj_geom(
        "fanflat",
        geom.detector_pixel_mm,
        geom.detector_cols,
        geom.angles,
        geom.source_object_mm,
        geom.source_detector_mm - geom.source_object_mm,
    )


def quiet_astra() -> None:
    """Send only ASTRA errors to stderr (its config warnings are noise here)."""
    import astra

    astra.log.setOutputScreen(astra.log.STDERR, astra.log.ERROR)
