"""`simulate(phantom, spec)`: the detector counts a scanner would record of a phantom."""

from __future__ import annotations

from typing import Any

import numpy as np

from porelab.simulate.scanner.exposure import (
    detector_gains,
    detector_signal,
    expected_primary,
    flats_and_darks,
    record_counts,
)
from porelab.simulate.scanner.geometry import SliceGeometry, slice_geometry
from porelab.simulate.scanner.gpu import resolve_device
from porelab.simulate.scanner.projector import PhantomLike, line_integrals, material_maps
from porelab.simulate.scanner.slabs import Executor
from porelab.simulate.scanner.spec import ScanSpec
from porelab.volume import Projections


def _project(
    maps: np.ndarray, geom: SliceGeometry, spec: ScanSpec, voxel_z: float, executor: Executor
) -> tuple[np.ndarray, str]:
    """Line integrals and the path used: 3D cone on a GPU, else slice-wise 2D on the CPU.

    The device is resolved for every geometry, so `device="gpu"` on a machine without a usable
    GPU is always a clear `ConfigError`; parallel and fan beam run on the CPU either way.
    """
    if resolve_device(spec.device) == "gpu" and spec.geometry == "cone":
        from porelab.simulate.scanner.cone_gpu import project_cone_gpu

        return project_cone_gpu(maps, geom, voxel_z), "cone-gpu"
    return line_integrals(maps, geom, executor), "slice-2d-cpu"


def scan_metadata(
    spec: ScanSpec, geom: SliceGeometry, phantom: PhantomLike, keys: list[str], path: str
) -> dict[str, Any]:
    """What `reconstruct` needs to rebuild the geometry, plus provenance."""
    return {
        "source": f"simulated:{getattr(phantom, 'name', 'phantom')}",
        "simulated": True,
        "scan_spec": spec.to_dict(),
        "slice_geometry": geom.to_dict(),
        "projection_path": path,
        "volume_shape": [int(n) for n in phantom.materials.shape],
        "voxel_size": [float(v) for v in phantom.voxel_size],
        "materials": keys,
    }


def simulate(phantom: PhantomLike, spec: ScanSpec, executor: Executor = Executor()) -> Projections:
    """Projections (Poisson counts at the spec's exposure) with flats and a dark of `phantom`.

    On the CPU, cone beam is simulated as a fan per slice (see `geometry`); where the GPU
    probe succeeds and `spec.device` allows it, as a true cone with ASTRA CUDA.
    """
    keys, maps = material_maps(phantom)
    geom = slice_geometry(spec, phantom.materials.shape, phantom.voxel_size)
    lines, path = _project(maps, geom, spec, float(phantom.voxel_size[0]), executor)
    primary = expected_primary(lines, keys, spec)
    del lines
    _, gain = detector_gains(primary.shape[2], spec)
    counts = record_counts(detector_signal(primary, spec), gain, spec, stream=2)
    flats, darks = flats_and_darks(primary.shape[1], primary.shape[2], spec)
    return Projections(
        counts=counts,
        angles=geom.angles,
        flats=flats,
        darks=darks,
        metadata=scan_metadata(spec, geom, phantom, keys, path),
    )
