"""Part outlines on a voxel grid and the scale that fits a part of given size in mm."""

from __future__ import annotations

import numpy as np

from porelab.errors import ConfigError


def grid(shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Open (broadcastable) voxel-centre coordinates z, y, x."""
    return np.ogrid[: shape[0], : shape[1], : shape[2]]


def fit_scale(shape: tuple[int, int, int], extent_mm: tuple[float, float, float], margin: float, builder: str) -> float:
    """Voxels per mm that fit a part of `extent_mm` (z, y, x) leaving `margin` of each axis free
    on both sides."""
    room = [n * (1.0 - 2.0 * margin) for n in shape]
    scale = min(r / e for r, e in zip(room, extent_mm))
    if scale * min(extent_mm) < 4.0:
        raise ConfigError(
            f"{builder}: shape {shape} is too small for a part of "
            f"{extent_mm} mm (its thinnest side would be under 4 voxels)"
        )
    return float(scale)


def centre_of(shape: tuple[int, int, int]) -> np.ndarray:
    return (np.asarray(shape, dtype=float) - 1.0) / 2.0


def cylinder(shape: tuple[int, int, int], radius: float, height: float, centre: np.ndarray | None = None) -> np.ndarray:
    """Solid cylinder along z (sizes in voxels)."""
    c = centre_of(shape) if centre is None else centre
    z, y, x = grid(shape)
    return ((y - c[1]) ** 2 + (x - c[2]) ** 2 <= radius**2) & (np.abs(z - c[0]) <= height / 2.0)


def box(shape: tuple[int, int, int], sides: tuple[float, float, float], centre: np.ndarray | None = None) -> np.ndarray:
    """Solid box with `sides` (z, y, x) in voxels."""
    c = centre_of(shape) if centre is None else centre
    z, y, x = grid(shape)
    return (
        (np.abs(z - c[0]) <= sides[0] / 2.0)
        & (np.abs(y - c[1]) <= sides[1] / 2.0)
        & (np.abs(x - c[2]) <= sides[2] / 2.0)
    )


def rotated_coordinates(
    shape: tuple[int, int, int], rotation: np.ndarray, centre: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Voxel-centre coordinates (voxels) in a frame turned by `rotation` (3 x 3, rows = the
    frame's axes in z, y, x) about `centre`: full arrays u, v, w."""
    c = centre_of(shape) if centre is None else centre
    z, y, x = (axis - c[i] for i, axis in enumerate(grid(shape)))
    r = np.asarray(rotation, dtype=float)
    return tuple(r[k, 0] * z + r[k, 1] * y + r[k, 2] * x for k in range(3))  # type: ignore[return-value]


def hexagonal_prism(
    shape: tuple[int, int, int], apothem: float, height: float, rotation: np.ndarray | None = None
) -> np.ndarray:
    """Solid regular hexagonal prism (sizes in voxels): its axis is the rotated frame's first
    axis, `apothem` the distance from the axis to each flat side."""
    u, v, w = rotated_coordinates(shape, np.eye(3) if rotation is None else rotation)
    solid = np.abs(u) <= height / 2.0
    for angle in (0.0, np.pi / 3.0, 2.0 * np.pi / 3.0):
        solid &= np.abs(v * np.cos(angle) + w * np.sin(angle)) <= apothem
    return solid


def rotated_box(shape: tuple[int, int, int], sides: tuple[float, float, float], rotation: np.ndarray) -> np.ndarray:
    """Solid box with `sides` (voxels) along the axes of the rotated frame."""
    u, v, w = rotated_coordinates(shape, rotation)
    return (np.abs(u) <= sides[0] / 2.0) & (np.abs(v) <= sides[1] / 2.0) & (np.abs(w) <= sides[2] / 2.0)


def threaded_hole(axial: np.ndarray, d1: np.ndarray, d2: np.ndarray, major_radius: float, pitch: float) -> np.ndarray:
    """Inside of an internal metric thread along `axial` (d1, d2: the transverse offsets from its
    axis, all in one unit): the hole's radius follows a triangle wave in the helical phase
    axial / pitch - angle / 2 pi (ISO 60 degree profile, depth 0.54 P)."""
    depth = 0.5413 * pitch
    phase = np.mod(axial / pitch - np.arctan2(d1, d2) / (2.0 * np.pi), 1.0)
    tooth = 1.0 - 2.0 * np.abs(phase - 0.5)  # 0 at the crest of the nut's tooth, 1 at the root
    radius = major_radius - depth * (1.0 - tooth)
    return d1**2 + d2**2 <= radius**2
