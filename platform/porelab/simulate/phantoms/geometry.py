"""Part outlines on a voxel grid and the scale that fits a part of given size in mm."""

from __future__ import annotations

import numpy as np

from porelab.errors import ConfigError


def grid(shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Open (broadcastable) voxel-centre coordinates z, y, x."""
    return np.ogrid[: shape[0], : shape[1], : shape[2]]


def fit_scale(shape: tuple[int, int, int], extent_mm: tuple[float, float, float],
              margin: float, builder: str) -> float:
    """Voxels per mm that fit a part of `extent_mm` (z, y, x) leaving `margin` of each axis free
    on both sides."""
    room = [n * (1.0 - 2.0 * margin) for n in shape]
    scale = min(r / e for r, e in zip(room, extent_mm))
    if scale * min(extent_mm) < 4.0:
        raise ConfigError(f"{builder}: shape {shape} is too small for a part of "
                          f"{extent_mm} mm (its thinnest side would be under 4 voxels)")
    return float(scale)


def centre_of(shape: tuple[int, int, int]) -> np.ndarray:
    return (np.asarray(shape, dtype=float) - 1.0) / 2.0


def cylinder(shape: tuple[int, int, int], radius: float, height: float,
             centre: np.ndarray | None = None) -> np.ndarray:
    """Solid cylinder along z (sizes in voxels)."""
    c = centre_of(shape) if centre is None else centre
    z, y, x = grid(shape)
    return ((y - c[1]) ** 2 + (x - c[2]) ** 2 <= radius**2) & (np.abs(z - c[0]) <= height / 2.0)


def box(shape: tuple[int, int, int], sides: tuple[float, float, float],
        centre: np.ndarray | None = None) -> np.ndarray:
    """Solid box with `sides` (z, y, x) in voxels."""
    c = centre_of(shape) if centre is None else centre
    z, y, x = grid(shape)
    return ((np.abs(z - c[0]) <= sides[0] / 2.0) & (np.abs(y - c[1]) <= sides[1] / 2.0)
            & (np.abs(x - c[2]) <= sides[2] / 2.0))
