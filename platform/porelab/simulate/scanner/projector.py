"""Line integrals of a phantom's materials through the scanner geometry (ASTRA, slice by slice).

Attenuation is linear in the materials' fractions, so each material's map (indicator times
one minus the pore fraction) is projected once, and the energy bins are combined afterwards
from these line integrals (mm of solid material along each ray). Projection uses ASTRA's
`strip` kernels (area-weighted) while reconstruction uses `linear`/`line` kernels, so the
simulation does not commit the inverse crime of using one discrete model for both.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from porelab.errors import ConfigError
from porelab.simulate.scanner.geometry import SliceGeometry, astra_proj_geom, astra_vol_geom, quiet_astra
from porelab.simulate.scanner.slabs import Executor, map_slabs


class PhantomLike(Protocol):
    """What the scanner needs from a phantom (see `porelab.simulate.phantoms.Phantom`)."""

    materials: np.ndarray
    material_names: dict[int, str]
    pore_fraction: np.ndarray
    voxel_size: tuple[float, float, float]


def attenuating_labels(phantom: PhantomLike) -> list[int]:
    """The material labels of `phantom` that attenuate (air left out), in label order."""
    if phantom.materials.shape != phantom.pore_fraction.shape:
        raise ConfigError(
            f"phantom: materials shape {phantom.materials.shape} and pore_fraction shape "
            f"{phantom.pore_fraction.shape}: expected equal shapes"
        )
    labels = []
    for label in _labels_present(phantom.materials):
        key = phantom.material_names.get(int(label))
        if key is None:
            raise ConfigError(f"phantom: material label {int(label)} has no entry in material_names")
        if key != "air":
            labels.append(int(label))
    if not labels:
        raise ConfigError("phantom: holds only air; expected at least one attenuating material")
    return labels


def _labels_present(materials: np.ndarray) -> np.ndarray:
    """The labels present, read 16 slices at a time (a memory-mapped volume stays on disk)."""
    found = [np.unique(np.asarray(materials[z : z + 16])) for z in range(0, materials.shape[0], 16)]
    return np.unique(np.concatenate(found))


def solid_maps(materials: np.ndarray, pore_fraction: np.ndarray, labels: list[int]) -> np.ndarray:
    """Solid fraction of each material label, float32 (n_labels, z, y, x), for any block of
    slices (the labels come from the whole phantom, so every slab stacks the same maps)."""
    solid = 1.0 - np.clip(pore_fraction, 0.0, 1.0).astype(np.float32)
    return np.stack([np.where(materials == label, solid, np.float32(0.0)) for label in labels]).astype(np.float32)


def material_maps(phantom: PhantomLike) -> tuple[list[str], np.ndarray]:
    """Material keys and their solid fractions, float32 (n_materials, z, y, x); air is left out."""
    labels = attenuating_labels(phantom)
    keys = [phantom.material_names[label] for label in labels]
    return keys, solid_maps(phantom.materials, phantom.pore_fraction, labels)


def _projector_kind(geom: SliceGeometry) -> str:
    return "strip" if geom.kind == "parallel" else "strip_fanflat"


def project_slab(maps: np.ndarray, geometry: dict[str, Any]) -> np.ndarray:
    """Line integrals (mm) of maps (n, zs, y, x) -> (n, n_angles, zs, cols), one ASTRA call per slice."""
    import astra

    quiet_astra()
    geom = SliceGeometry.from_dict(geometry)
    vol_geom, proj_geom = astra_vol_geom(geom), astra_proj_geom(geom)
    projector = astra.create_projector(_projector_kind(geom), proj_geom, vol_geom)
    out = np.empty((maps.shape[0], geom.angles.size, maps.shape[1], geom.detector_cols), np.float32)
    try:
        for m in range(maps.shape[0]):
            for z in range(maps.shape[1]):
                sino_id, sino = astra.create_sino(maps[m, z], projector)
                astra.data2d.delete(sino_id)
                out[m, :, z] = sino
    finally:
        astra.projector.delete(projector)
    return out


def line_integrals(maps: np.ndarray, geom: SliceGeometry, executor: Executor = Executor()) -> np.ndarray:
    """Line integrals (mm) of every material map: (n_materials, n_angles, z, cols)."""
    return map_slabs(project_slab, maps, split_axis=1, join_axis=2, executor=executor, geometry=geom.to_dict())
