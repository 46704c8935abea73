"""Surface area and sphericity of pore instances from marching-cubes meshes (scikit-image)."""

from __future__ import annotations

import numpy as np
from skimage.measure import marching_cubes, mesh_surface_area


def mesh_volume(verts: np.ndarray, faces: np.ndarray) -> float:
    """Volume enclosed by a closed triangle mesh (divergence theorem: signed tetrahedra)."""
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    return float(abs(np.einsum("ij,ij->i", a, np.cross(b, c)).sum()) / 6.0)


def surface_and_sphericity(instance: np.ndarray, spacing: tuple[float, float, float]) -> tuple[float, float]:
    """Mesh area (mm2) and sphericity pi^(1/3) (6 V)^(2/3) / A of one binary instance.

    The mesh is the 0.5 iso-surface of the instance padded with one empty voxel, so it is
    closed; V is the volume that same mesh encloses (not the voxel count), which keeps every
    value at or below 1 (a single voxel, an octahedron: 0.85). The mesh of a binary voxel set
    keeps some staircase: a voxelised ball of radius 10 gets an area ~9 % high and a
    sphericity of ~0.91, radius 3 ~0.87. Voxel-face counting, the alternative, gives ~0.66.
    """
    padded = np.pad(instance.astype(np.float32), 1)
    verts, faces, _, _ = marching_cubes(padded, 0.5, spacing=spacing)
    area = float(mesh_surface_area(verts, faces))
    volume = mesh_volume(verts, faces)
    if area == 0.0:
        return 0.0, float("nan")
    return area, float(np.pi ** (1.0 / 3.0) * (6.0 * volume) ** (2.0 / 3.0) / area)
