"""True cone-beam projection and FDK reconstruction with ASTRA's CUDA algorithms.

Only called after `gpu.resolve_device` returned "gpu" (the subprocess probe succeeded):
ASTRA's 3D functions kill the process on a machine without a usable GPU. Projections are
(n_angles, det_rows, cols) like everywhere in porelab; ASTRA's 3D layout is (rows, angles, cols).
"""

from __future__ import annotations

import math

import numpy as np

from porelab.simulate.scanner.geometry import SliceGeometry, quiet_astra


def cone_detector_rows(nz: int, geom: SliceGeometry) -> int:
    """Detector rows that see the whole grid height at the closest approach to the source."""
    radius = math.hypot(geom.nx, geom.ny) * geom.pixel_mm / 2
    widening = geom.source_object_mm / max(geom.source_object_mm - radius, 1e-6)
    return int(math.ceil(nz * widening)) + 2


def _geometries(nz: int, det_rows: int, geom: SliceGeometry, voxel_z: float) -> tuple[dict, dict]:
    import astra

    half_w, half_h = geom.nx * geom.pixel_mm / 2, geom.ny * geom.pixel_mm / 2
    half_z = nz * voxel_z / 2
    vol = astra.create_vol_geom(geom.ny, geom.nx, nz, -half_w, half_w, -half_h, half_h, -half_z, half_z)
    row_pixel = voxel_z * geom.magnification
    proj = astra.create_proj_geom(
        "cone",
        geom.detector_pixel_mm,
        row_pixel,
        det_rows,
        geom.detector_cols,
        geom.angles,
        geom.source_object_mm,
        geom.source_detector_mm - geom.source_object_mm,
    )
    return vol, proj


def project_cone_gpu(maps: np.ndarray, geom: SliceGeometry, voxel_z: float) -> np.ndarray:
    """Line integrals (mm) of maps (n, z, y, x) -> (n, n_angles, det_rows, cols)."""
    import astra

    quiet_astra()
    det_rows = cone_detector_rows(maps.shape[1], geom)
    vol, proj = _geometries(maps.shape[1], det_rows, geom, voxel_z)
    out = []
    for volume in maps:
        sino_id, sino = astra.create_sino3d_gpu(np.ascontiguousarray(volume), proj, vol)
        astra.data3d.delete(sino_id)
        out.append(np.transpose(sino, (1, 0, 2)))
    return np.stack(out).astype(np.float32)


def fdk_gpu(line_integrals: np.ndarray, geom: SliceGeometry, nz: int, voxel_z: float) -> np.ndarray:
    """FDK of (n_angles, det_rows, cols) line integrals onto an (nz, ny, nx) grid, 1/mm."""
    import astra

    quiet_astra()
    vol, proj = _geometries(nz, line_integrals.shape[1], geom, voxel_z)
    sino_id = astra.data3d.create("-sino", proj, np.ascontiguousarray(np.transpose(line_integrals, (1, 0, 2))))
    rec_id = astra.data3d.create("-vol", vol)
    cfg = astra.astra_dict("FDK_CUDA")
    cfg["ProjectionDataId"], cfg["ReconstructionDataId"] = sino_id, rec_id
    alg = astra.algorithm.create(cfg)
    try:
        astra.algorithm.run(alg)
        return astra.data3d.get(rec_id).astype(np.float32)
    finally:
        astra.algorithm.delete(alg)
        astra.data3d.delete([sino_id, rec_id])
