"""`reconstruct(projections, spec, algorithm)`: slices from simulated or real projections.

CPU: ASTRA 2D per detector row, fanned out over slabs (`slabs.map_slabs`). Parallel beam:
FBP, SIRT or CGLS with the `linear` kernel. Fan beam (and cone beam, as a fan per row):
FBP after rebinning to parallel, or SIRT/CGLS with the `line_fanflat` kernel. GPU (probe
succeeded and the projections are a true cone scan): FDK with ASTRA CUDA.
Measured projections use the spec's geometry when one is given, else parallel beam with
one voxel per detector pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from porelab.errors import ConfigError
from porelab.simulate.scanner.geometry import SliceGeometry, astra_proj_geom, astra_vol_geom, quiet_astra
from porelab.simulate.scanner.gpu import resolve_device
from porelab.simulate.scanner.preprocess import recentre, to_line_integrals
from porelab.simulate.scanner.rebin import parallel_geometry, rebin_fan_to_parallel
from porelab.simulate.scanner.slabs import Executor, map_slabs
from porelab.simulate.scanner.spec import ScanSpec
from porelab.volume import Projections, Volume

ALGORITHMS = ("fbp", "sirt", "cgls")
FILTERS = ("ram-lak", "shepp-logan", "cosine", "hamming", "hann")


@dataclass(frozen=True)
class ReconOptions:
    """Iterations for SIRT/CGLS, the FBP filter, and the transmission floor of -log."""

    iterations: int = 100
    filter: str = "ram-lak"
    min_transmission: float = 1e-4

    def __post_init__(self) -> None:
        if self.iterations < 1:
            raise ConfigError(f"ReconOptions.iterations={self.iterations}: expected >= 1")
        if self.filter not in FILTERS:
            raise ConfigError(f"ReconOptions.filter={self.filter!r}: expected one of {list(FILTERS)}")


def _run_algorithm(
    name: str, sino: np.ndarray, geom: SliceGeometry, projector: int, options: ReconOptions
) -> np.ndarray:
    import astra

    vol_geom, proj_geom = astra_vol_geom(geom), astra_proj_geom(geom)
    sino_id = astra.data2d.create("-sino", proj_geom, sino)
    rec_id = astra.data2d.create("-vol", vol_geom, 0.0)
    cfg = astra.astra_dict(name)
    cfg.update(ProjectorId=projector, ProjectionDataId=sino_id, ReconstructionDataId=rec_id)
    if name == "FBP":
        cfg["FilterType"] = options.filter
    alg = astra.algorithm.create(cfg)
    try:
        astra.algorithm.run(alg, 1 if name == "FBP" else options.iterations)
        return astra.data2d.get(rec_id)
    finally:
        astra.algorithm.delete(alg)
        astra.data2d.delete([sino_id, rec_id])


def _plan(geom: SliceGeometry, algorithm: str) -> tuple[str, str, bool]:
    """(ASTRA algorithm, projector kind, rebin first?) for a geometry and algorithm."""
    astra_name = {"fbp": "FBP", "sirt": "SIRT", "cgls": "CGLS"}[algorithm]
    if geom.kind == "parallel":
        return astra_name, "linear", False
    if algorithm == "fbp":
        return "FBP", "linear", True
    return astra_name, "line_fanflat", False


def reconstruct_slab(
    sinograms: np.ndarray, geometry: dict[str, Any], algorithm: str, options: ReconOptions
) -> np.ndarray:
    """(n_angles, rows, cols) line integrals -> (rows, ny, nx) slices, one ASTRA run per row."""
    import astra

    quiet_astra()
    geom = SliceGeometry.from_dict(geometry)
    astra_name, kind, rebin = _plan(geom, algorithm)
    if rebin:
        sinograms, geom = rebin_fan_to_parallel(sinograms, geom), parallel_geometry(geom)
    projector = astra.create_projector(kind, astra_proj_geom(geom), astra_vol_geom(geom))
    out = np.empty((sinograms.shape[1], geom.ny, geom.nx), np.float32)
    try:
        for row in range(sinograms.shape[1]):
            out[row] = _run_algorithm(astra_name, np.ascontiguousarray(sinograms[:, row]), geom, projector, options)
    finally:
        astra.projector.delete(projector)
    return out


def _real_geometry(projections: Projections, spec: ScanSpec | None, grid_side: int | None) -> SliceGeometry:
    """Geometry of measured projections: the spec's beam and distances, or parallel beam.

    Without a spec, one voxel per detector pixel; with one, voxels of detector pixel over
    magnification (`spec.detector_pixel_mm`, 1 when unset).
    """
    cols = projections.counts.shape[2]
    side = grid_side or cols
    if spec is None:
        return SliceGeometry(
            kind="parallel",
            ny=side,
            nx=side,
            pixel_mm=1.0,
            angles=projections.angles,
            detector_cols=cols,
            detector_pixel_mm=1.0,
        )
    pixel = spec.detector_pixel_mm or 1.0
    return SliceGeometry(
        kind="parallel" if spec.geometry == "parallel" else "fan",
        ny=side,
        nx=side,
        pixel_mm=pixel / spec.magnification,
        angles=projections.angles,
        detector_cols=cols,
        detector_pixel_mm=pixel,
        source_object_mm=spec.source_object_mm,
        source_detector_mm=spec.source_detector_mm,
    )


def _geometry_of(projections: Projections, spec: ScanSpec | None, grid_side: int | None) -> SliceGeometry:
    stored = projections.metadata.get("slice_geometry")
    if stored is None:
        return _real_geometry(projections, spec, grid_side)
    geom = SliceGeometry.from_dict(stored)
    if spec is not None and spec.geometry != projections.metadata["scan_spec"]["geometry"]:
        raise ConfigError(
            f"reconstruct: spec.geometry={spec.geometry!r} but the projections were simulated "
            f"with {projections.metadata['scan_spec']['geometry']!r}"
        )
    return replace(geom, angles=np.asarray(projections.angles))


def _voxel_size(projections: Projections, geom: SliceGeometry) -> tuple[float, float, float]:
    stored = projections.metadata.get("voxel_size")
    if stored is not None:
        return (float(stored[0]), float(stored[1]), float(stored[2]))
    return (geom.pixel_mm, geom.pixel_mm, geom.pixel_mm)


def _units(projections: Projections, spec: ScanSpec | None) -> str:
    in_mm = "voxel_size" in projections.metadata or (spec is not None and spec.detector_pixel_mm is not None)
    return "1/mm" if in_mm else "1/pixel"


def _reconstruct_lines(
    lines: np.ndarray,
    geom: SliceGeometry,
    projections: Projections,
    algorithm: str,
    options: ReconOptions,
    executor: Executor,
    device: str,
) -> tuple[np.ndarray, str]:
    if projections.metadata.get("projection_path") == "cone-gpu":
        if algorithm != "fbp" or resolve_device(device) != "gpu":
            raise ConfigError(
                "reconstruct: these projections are a true cone-beam scan (simulated on a GPU); "
                "they need algorithm='fbp' (FDK) on a machine with a usable GPU"
            )
        from porelab.simulate.scanner.cone_gpu import fdk_gpu

        shape = projections.metadata["volume_shape"]
        return fdk_gpu(lines, geom, int(shape[0]), _voxel_size(projections, geom)[0]), "fdk-gpu"
    data = map_slabs(
        reconstruct_slab,
        lines,
        split_axis=1,
        join_axis=0,
        executor=executor,
        geometry=geom.to_dict(),
        algorithm=algorithm,
        options=options,
    )
    return data, "slice-2d-cpu"


def reconstruct(
    projections: Projections,
    spec: ScanSpec | None = None,
    algorithm: str = "fbp",
    *,
    center: float | str | None = None,
    options: ReconOptions = ReconOptions(),
    executor: Executor = Executor(),
    grid_side: int | None = None,
) -> Volume:
    """Attenuation volume (1/mm for simulated scans; per pixel for real ones) of `projections`.

    `center` is the rotation axis as a detector column (real data): None = mid-detector,
    "auto" = `find_center`. `grid_side` sets the slice size of real reconstructions (default:
    the detector width). Simulated projections carry their geometry in their metadata.
    """
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"reconstruct: algorithm={algorithm!r}; expected one of {list(ALGORITHMS)}")
    geom = _geometry_of(projections, spec, grid_side)
    lines = to_line_integrals(projections, options.min_transmission)
    if center == "auto":
        if geom.kind != "parallel":
            raise ConfigError(
                "reconstruct: center='auto' searches parallel-beam scans (opposed projections "
                "mirror each other only there); give the centre column of this fan scan"
            )
        from porelab.simulate.scanner.center import find_center

        center = find_center(lines, projections.angles).center
    if center is not None:
        lines = recentre(lines, float(center))
    device = spec.device if spec is not None else projections.metadata.get("scan_spec", {}).get("device", "cpu")
    data, path = _reconstruct_lines(lines, geom, projections, algorithm, options, executor, device)
    meta = {
        "source": projections.metadata.get("source", "projections"),
        "algorithm": algorithm,
        "reconstruction_path": path,
        "center": center,
        "filter": options.filter,
        "units": _units(projections, spec),
    }
    return Volume(data, _voxel_size(projections, geom), meta)
