"""Implicit solids for pores: each gives a conservative signed distance and a bounding box.

Coordinates are in voxel units, axis order (z, y, x), with voxel (i, j, k) centred at (i, j, k).
`distance` returns a value that is negative inside and positive outside and whose magnitude
never exceeds the true distance to the surface. The renderer relies on that bound: a voxel whose
centre is further than half a voxel diagonal from the surface is wholly inside or outside, so
only voxels near the surface need supersampling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class Shape(Protocol):
    def distance(self, points: np.ndarray) -> np.ndarray:
        """Conservative signed distance (voxels) for points of shape (n, 3)."""

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lowest and highest corner (z, y, x) of a box that contains the solid."""


@dataclass(frozen=True)
class Capsule:
    """All points within `radius` of the segment start-end (a sphere when start == end)."""

    start: np.ndarray
    end: np.ndarray
    radius: float

    def distance(self, points: np.ndarray) -> np.ndarray:
        axis = self.end - self.start
        length2 = float(axis @ axis)
        rel = points - self.start
        t = np.zeros(len(points)) if length2 == 0.0 else np.clip(rel @ axis / length2, 0.0, 1.0)
        return np.linalg.norm(rel - t[:, None] * axis, axis=1) - self.radius

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.minimum(self.start, self.end) - self.radius, np.maximum(self.start, self.end) + self.radius)


def sphere(centre: np.ndarray, radius: float) -> Capsule:
    centre = np.asarray(centre, dtype=float)
    return Capsule(centre, centre.copy(), float(radius))


@dataclass(frozen=True)
class Ellipsoid:
    """An ellipsoid with semi-axes `axes` along the rows of `rotation`
    (local coordinates = rotation @ (p - centre)).

    Its distance is (k - 1) * min(axes) with k the normalised radius: for a convex body E the
    scaled body kE contains E grown by (k - 1) * min(axes), so the value never overstates the
    true distance (and likewise inside).
    """

    centre: np.ndarray
    axes: np.ndarray
    rotation: np.ndarray

    def distance(self, points: np.ndarray) -> np.ndarray:
        local = (points - self.centre) @ self.rotation.T
        k = np.linalg.norm(local / self.axes, axis=1)
        return (k - 1.0) * float(self.axes.min())

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        half = np.sqrt(((self.rotation * self.axes[:, None]) ** 2).sum(axis=0))
        return self.centre - half, self.centre + half


@dataclass(frozen=True)
class Union:
    """Several solids as one pore instance (its pieces need not touch).

    With more than a few parts, each part is evaluated only on the points inside its own box
    grown by `_REACH` (found through the points sorted by z); a point outside every grown box
    is at least `_REACH` from the union, so `_REACH` is a valid conservative value there. This
    keeps a 40-branch shrinkage cluster from costing 40 evaluations of its whole box.
    """

    parts: tuple

    def distance(self, points: np.ndarray) -> np.ndarray:
        if len(self.parts) <= _FEW_PARTS:
            return np.min([part.distance(points) for part in self.parts], axis=0)
        result = np.full(len(points), _REACH)
        order = np.argsort(points[:, 0], kind="stable")
        sorted_z = points[order, 0]
        for part in self.parts:
            lo, hi = part.bounds()
            first, last = np.searchsorted(sorted_z, [lo[0] - _REACH, hi[0] + _REACH], side="left")
            slab = order[first:last]
            inside = np.all((points[slab, 1:] >= lo[1:] - _REACH) & (points[slab, 1:] <= hi[1:] + _REACH), axis=1)
            near = slab[inside]
            if len(near):
                result[near] = np.minimum(result[near], part.distance(points[near]))
        return result

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        boxes = [part.bounds() for part in self.parts]
        return (np.min([lo for lo, _ in boxes], axis=0), np.max([hi for _, hi in boxes], axis=0))


_REACH = 1.0  # voxels; more than the half voxel diagonal (0.87) the renderer needs to know
_FEW_PARTS = 6  # up to this many parts, evaluating every part everywhere is cheaper


def rotation_zyx(tilt: float, azimuth: float, spin: float = 0.0) -> np.ndarray:
    """Rotation whose first row (the local long axis) is tilted by `tilt` from z towards `azimuth`.

    Angles in radians; `spin` turns the two other local axes about the long one.
    """
    axis = np.array([np.cos(tilt), np.sin(tilt) * np.sin(azimuth), np.sin(tilt) * np.cos(azimuth)])
    helper = np.array([0.0, 1.0, 0.0]) if abs(axis[1]) < 0.9 else np.array([0.0, 0.0, 1.0])
    second = np.cross(axis, helper)
    second /= np.linalg.norm(second)
    third = np.cross(axis, second)
    c, s = np.cos(spin), np.sin(spin)
    return np.stack([axis, c * second + s * third, -s * second + c * third])
