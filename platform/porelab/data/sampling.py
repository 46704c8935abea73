"""Where training patches come from: uniform, on a grid, or balanced between pores, the part's
surface and anywhere (sound material and air).

Every position is a pure function of (seed, row index), so a patch stream is reproducible
whatever the number of workers, and any row can be regenerated alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np
from scipy import ndimage

from porelab.errors import ConfigError
from porelab.windows import window_starts

SamplerKind = Literal["uniform", "grid", "balanced"]
PoreWeighting = Literal["voxel", "pore"]
_MAX_PORE_VOXELS = 1_000_000
_SLAB = 16


@dataclass(frozen=True)
class SamplerConfig:
    """kind: 'uniform' | 'grid' | 'balanced'; pore_fraction: share of balanced patches centred on a pore;
    edge_fraction: share centred on the part's outer surface (a part voxel next to air, from the
    scan's materials), where beam hardening and edge artefacts make networks call pores; the rest
    are uniform; overlap: for 'grid'; pore_weighting: which pore a pore-centred patch goes to,
    'voxel' (a pore in proportion to its volume) or 'pore' (every pore alike, so the small pores
    that set a detector's POD are seen as often as the large ones that hold most pore voxels)."""

    kind: SamplerKind = "balanced"
    pore_fraction: float = 0.5
    overlap: float = 0.5
    edge_fraction: float = 0.0
    pore_weighting: PoreWeighting = "voxel"

    def __post_init__(self) -> None:
        if self.kind not in ("uniform", "grid", "balanced"):
            raise ConfigError(f"sampler kind {self.kind!r}; expected 'uniform', 'grid' or 'balanced'")
        if not 0.0 <= self.pore_fraction <= 1.0:
            raise ConfigError(f"sampler pore_fraction = {self.pore_fraction}; expected a fraction in [0, 1]")
        if not 0.0 <= self.edge_fraction <= 1.0 - self.pore_fraction:
            raise ConfigError(
                f"sampler edge_fraction = {self.edge_fraction}; expected a fraction in [0, 1 - "
                f"pore_fraction = {1.0 - self.pore_fraction:g}]"
            )
        if self.pore_weighting not in ("voxel", "pore"):
            raise ConfigError(f"sampler pore_weighting {self.pore_weighting!r}; expected 'voxel' or 'pore'")


def row_rng(seed: int, row: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(row)])


def pore_voxels(labels: Any, seed: int = 0, limit: int = _MAX_PORE_VOXELS, per_pore: bool = False) -> np.ndarray:
    """(N, 3) coordinates of labelled voxels (a random subset of at most `limit`), read slab by slab.

    With `per_pore`, one random voxel of each pore instead, so a uniform draw picks every pore
    alike. A pore is a connected component of the label within a slab of 16 slices: a 0/1 mask
    and an instance label read alike, and a pore crossing a slab boundary counts once per slab.
    """
    found, ids, next_id = [], [], 0
    for z in range(0, labels.shape[0], _SLAB):
        slab = np.asarray(labels[z : z + _SLAB])
        zz, yy, xx = np.nonzero(slab)
        found.append(np.stack([zz + z, yy, xx], axis=1).astype(np.int32))
        if per_pore:
            components, count = ndimage.label(slab > 0)
            ids.append(components[zz, yy, xx].astype(np.int64) + next_id)
            next_id += count
        if hasattr(labels, "release_pages"):
            labels.release_pages()
    coords = np.concatenate(found) if found else np.zeros((0, 3), np.int32)
    rng = np.random.default_rng(seed)
    if per_pore and len(coords):
        order = rng.permutation(len(coords))
        _, first = np.unique(np.concatenate(ids)[order], return_index=True)
        coords = coords[order[first]]
    if len(coords) > limit:
        coords = coords[rng.choice(len(coords), limit, replace=False)]
    return coords


def surface_voxels(materials: Any, labels: Any = None, seed: int = 0, limit: int = _MAX_PORE_VOXELS) -> np.ndarray:
    """(N, 3) coordinates of the part's outer surface: part voxels (material or labelled pore) with
    a face neighbour outside it (a random subset of at most `limit`). Read slab by slab with a
    one-voxel halo; the volume's own border does not count as outside. scipy's erosion does the
    work; this only keeps it within memory for large scans."""
    depth, found = int(materials.shape[0]), []
    for z in range(0, depth, _SLAB):
        lo, hi = max(z - 1, 0), min(z + _SLAB + 1, depth)
        solid = np.asarray(materials[lo:hi]) > 0
        if labels is not None:
            solid |= np.asarray(labels[lo:hi]) > 0
        edge = solid & ~ndimage.binary_erosion(solid, border_value=1)
        zz, yy, xx = np.nonzero(edge[z - lo : z - lo + min(_SLAB, depth - z)])
        found.append(np.stack([zz + z, yy, xx], axis=1).astype(np.int32))
    coords = np.concatenate(found) if found else np.zeros((0, 3), np.int32)
    if len(coords) > limit:
        coords = coords[np.random.default_rng(seed).choice(len(coords), limit, replace=False)]
    return coords


def _corner_around(
    centre: np.ndarray, shape: Sequence[int], patch: Sequence[int], rng: np.random.Generator
) -> tuple[int, int, int]:
    jitter = rng.integers(-np.asarray(patch) // 4, np.asarray(patch) // 4 + 1)
    corner = centre - np.asarray(patch) // 2 + jitter
    high = np.maximum(np.asarray(shape) - np.asarray(patch), 0)
    return tuple(int(c) for c in np.clip(corner, 0, high))  # type: ignore[return-value]


def uniform_corner(shape: Sequence[int], patch: Sequence[int], rng: np.random.Generator) -> tuple[int, int, int]:
    high = np.maximum(np.asarray(shape) - np.asarray(patch), 0)
    return tuple(int(rng.integers(0, h + 1)) for h in high)  # type: ignore[return-value]


def balanced_corner(
    shape: Sequence[int],
    patch: Sequence[int],
    pores: np.ndarray,
    pore_fraction: float,
    rng: np.random.Generator,
    edges: np.ndarray | None = None,
    edge_fraction: float = 0.0,
) -> tuple[int, int, int]:
    """Centred on a random pore voxel with probability `pore_fraction`, on a random surface voxel
    with probability `edge_fraction`, else uniform (without edges the draws are those of a
    pore/uniform sampler)."""
    if len(pores) and rng.random() < pore_fraction:
        return _corner_around(pores[rng.integers(len(pores))], shape, patch, rng)
    if edge_fraction > 0 and edges is not None and len(edges) and rng.random() < edge_fraction / (1 - pore_fraction):
        return _corner_around(edges[rng.integers(len(edges))], shape, patch, rng)
    return uniform_corner(shape, patch, rng)


def grid_corners(shape: Sequence[int], patch: Sequence[int], overlap: float) -> list[tuple[int, int, int]]:
    steps = [max(1, int(round(p * (1 - overlap)))) for p in patch]
    axes = [window_starts(n, p, s) for n, p, s in zip(shape, patch, steps)]
    return [(z, y, x) for z in axes[0] for y in axes[1] for x in axes[2]]


def read_patch(vol: Any, corner: Sequence[int], patch: Sequence[int]) -> np.ndarray:
    """The patch at `corner`, edge-padded where the volume is smaller than the patch."""
    z, y, x = corner
    pz, py, px = patch
    out = np.asarray(vol[z : z + pz, y : y + py, x : x + px])
    pad = [(0, p - n) for p, n in zip(patch, out.shape)]
    return np.pad(out, pad, mode="edge") if any(after for _, after in pad) else out
