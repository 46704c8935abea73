"""A part from its CAD surface: STL (binary or ASCII) voxelised into a solid mask.

Voxelisation by ray parity along z: every triangle is rasterised onto the (y, x) grid of voxel
centres it covers, the heights where each column's ray crosses the surface are sorted, and a
voxel is solid where an odd number of crossings lies below its centre. Written here because
the field's mesh libraries (trimesh, Open3D) would be a heavy dependency for one function;
a watertight mesh is assumed, as CAD exports are.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np

from porelab.errors import ConfigError

_MARGIN_VOXELS = 4
_RAY_OFFSET = (math.sqrt(2.0) * 1e-6, math.sqrt(3.0) * 1e-6)  # (y, x), in voxels


def read_stl(path: str | Path) -> np.ndarray:
    """The triangles of an STL file, (n, 3 vertices, 3 coordinates x, y, z) float64 in its units."""
    path = Path(path)
    data = path.read_bytes()
    if len(data) >= 84:
        count = struct.unpack_from("<I", data, 80)[0]
        if len(data) == 84 + 50 * count:
            records = np.frombuffer(
                data,
                dtype=np.dtype([("normal", "<f4", 3), ("vertices", "<f4", (3, 3)), ("attribute", "<u2")]),
                count=count,
                offset=84,
            )
            return records["vertices"].astype(np.float64)
    text = data.decode("ascii", errors="replace")
    if not text.lstrip().startswith("solid"):
        raise ConfigError(f"{path}: not an STL file; expected a binary STL or an ASCII one starting with 'solid'")
    vertices = [line.split()[1:4] for line in text.splitlines() if line.strip().startswith("vertex")]
    if not vertices or len(vertices) % 3:
        raise ConfigError(f"{path}: {len(vertices)} vertices; expected three per facet and at least one facet")
    try:
        return np.asarray(vertices, np.float64).reshape(-1, 3, 3)
    except ValueError as err:
        raise ConfigError(f"{path}: a vertex line does not hold three numbers ({err})") from err


def voxelize(triangles: np.ndarray, voxel_size: float, margin: int = _MARGIN_VOXELS) -> np.ndarray:
    """The solid inside a closed surface, bool (z, y, x), on a grid of `voxel_size` (the
    triangles' units) around its bounding box with `margin` voxels of air on every side."""
    if not voxel_size > 0:
        raise ConfigError(f"voxel size {voxel_size}: expected > 0")
    if len(triangles) == 0:
        raise ConfigError("voxelize: no triangle")
    low = triangles.reshape(-1, 3).min(axis=0) - margin * voxel_size
    shape_xyz = np.ceil((triangles.reshape(-1, 3).max(axis=0) + margin * voxel_size - low) / voxel_size).astype(int)
    nx, ny, nz = (int(n) for n in shape_xyz)
    grid = (triangles - low) / voxel_size - 0.5  # voxel-centre units: centre i sits at i
    crossings: list[list[float]] = [[] for _ in range(ny * nx)]
    for a, b, c in grid:
        _rasterise(a, b, c, nx, ny, crossings)
    solid = np.zeros((nz, ny, nx), bool)
    centres = np.arange(nz)
    for index, heights in enumerate(crossings):
        if len(heights) < 2:
            continue
        below = np.searchsorted(np.sort(np.asarray(heights)), centres)  # crossings under each voxel centre
        solid[:, index // nx, index % nx] = below % 2 == 1
    return solid


def _rasterise(a: np.ndarray, b: np.ndarray, c: np.ndarray, nx: int, ny: int, crossings: list[list[float]]) -> None:
    """Append to each (y, x) column whose ray the triangle's xy projection covers the z where the
    ray meets the triangle. Rays run a millionth of a voxel off the centres, along irrational
    directions of the grid, so none passes exactly through an edge or a vertex (where two facets
    would both count it, or neither)."""
    area = (b[0] - a[0]) * (c[1] - a[1]) - (c[0] - a[0]) * (b[1] - a[1])
    if abs(area) < 1e-12:
        return  # parallel to z: the ray grazes it
    x0, x1 = max(math.ceil(min(a[0], b[0], c[0])), 0), min(math.floor(max(a[0], b[0], c[0])), nx - 1)
    y0, y1 = max(math.ceil(min(a[1], b[1], c[1])), 0), min(math.floor(max(a[1], b[1], c[1])), ny - 1)
    if x0 > x1 or y0 > y1:
        return
    ys, xs = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
    ys, xs = ys.ravel() + _RAY_OFFSET[0], xs.ravel() + _RAY_OFFSET[1]
    w0 = ((b[0] - xs) * (c[1] - ys) - (c[0] - xs) * (b[1] - ys)) / area
    w1 = ((c[0] - xs) * (a[1] - ys) - (a[0] - xs) * (c[1] - ys)) / area
    w2 = 1.0 - w0 - w1
    inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
    heights = w0 * a[2] + w1 * b[2] + w2 * c[2]
    for y, x, z in zip(np.rint(ys[inside]).astype(int), np.rint(xs[inside]).astype(int), heights[inside]):
        crossings[y * nx + x].append(float(z))
