"""Partial-volume rendering of an implicit solid inside its bounding box."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from porelab.simulate.phantoms.shapes import Shape

_HALF_DIAGONAL = float(np.sqrt(3.0) / 2.0)


@dataclass(frozen=True)
class Rendered:
    """The void fraction of a solid over the box `slices` of the grid."""

    slices: tuple[slice, slice, slice]
    fraction: np.ndarray  # float32, shape of the box


def _box(shape: Shape, grid_shape: tuple[int, int, int]) -> tuple[slice, slice, slice] | None:
    lo, hi = shape.bounds()
    start = np.maximum(np.floor(lo).astype(int), 0)
    stop = np.minimum(np.ceil(hi).astype(int) + 1, np.asarray(grid_shape))
    if np.any(stop <= start):
        return None
    return tuple(slice(int(a), int(b)) for a, b in zip(start, stop))


@functools.lru_cache(maxsize=8)
def _subsample_offsets(supersample: int) -> np.ndarray:
    steps = (np.arange(supersample) + 0.5) / supersample - 0.5
    grid = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), axis=-1)
    return grid.reshape(-1, 3)


def _centres(slices: tuple[slice, slice, slice]) -> np.ndarray:
    axes = [np.arange(s.start, s.stop, dtype=np.float32) for s in slices]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def inside(shape: Shape, grid_shape: tuple[int, int, int]) -> tuple[tuple[slice, slice, slice], np.ndarray] | None:
    """Voxels whose centre lies in the solid (no partial volume): for material labels."""
    slices = _box(shape, grid_shape)
    if slices is None:
        return None
    mask = shape.distance(_centres(slices)) < 0
    return slices, mask.reshape(tuple(s.stop - s.start for s in slices))


def render(shape: Shape, grid_shape: tuple[int, int, int], supersample: int = 3) -> Rendered | None:
    """Void fraction per voxel: exact 0/1 far from the surface, supersample^3 samples near it.

    None when the solid's box lies outside the grid.
    """
    slices = _box(shape, grid_shape)
    if slices is None:
        return None
    centres = _centres(slices).astype(float)
    dist = shape.distance(centres)
    fraction = (dist < 0).astype(np.float32)
    near = np.abs(dist) <= _HALF_DIAGONAL
    if near.any():
        offsets = _subsample_offsets(supersample)
        samples = (centres[near][:, None, :] + offsets[None, :, :]).reshape(-1, 3)
        inside = shape.distance(samples) < 0
        fraction[near] = inside.reshape(-1, len(offsets)).mean(axis=1)
    box_shape = tuple(s.stop - s.start for s in slices)
    return Rendered(slices, fraction.reshape(box_shape))
