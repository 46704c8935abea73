"""Weld indications as maps of missing steel thickness (fraction of the plate), drawn in a
local window: porosity clusters, elongated slag, cracks and lack of fusion (Lindgren & Zach)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import ndimage

INDICATION_CLASSES = {1: "porosity", 2: "slag", 3: "crack", 4: "lack_of_fusion"}


@dataclass(frozen=True)
class BeadPath:
    """Centre row of the bead at each column and its half width (pixels)."""

    centre: np.ndarray
    half_width: float


@dataclass(frozen=True)
class Indication:
    """Missing thickness over the window rows r0:r0+h, columns c0:c0+w."""

    kind: str
    r0: int
    c0: int
    loss: np.ndarray  # float, thickness removed as a fraction of the plate


def _window(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    return np.mgrid[:rows, :cols].astype(float)


def porosity(bead: BeadPath, rng: np.random.Generator) -> Indication:
    """1-6 round gas pores; a spherical void of radius r removes a chord 2 sqrt(r^2 - d^2)."""
    col = int(rng.uniform(0.1, 0.9) * len(bead.centre))
    radii = rng.uniform(2.0, 6.0, size=int(rng.integers(1, 7)))
    size = 48
    r, c = _window(size, size)
    loss = np.zeros((size, size))
    for radius in radii:
        cy, cx = rng.uniform(radius + 1, size - radius - 1, size=2)
        d2 = (r - cy) ** 2 + (c - cx) ** 2
        loss = np.maximum(loss, 2.0 * np.sqrt(np.clip(radius**2 - d2, 0.0, None)) / 60.0)
    row = bead.centre[col] + rng.uniform(-0.5, 0.5) * bead.half_width
    return Indication("porosity", int(row - size / 2), col - size // 2, loss)


def slag(bead: BeadPath, rng: np.random.Generator) -> Indication:
    """An elongated, ragged inclusion along the weld, lighter than steel."""
    length, width = rng.uniform(20.0, 80.0), rng.uniform(3.0, 6.0)
    rows, cols = int(width * 3 + 8), int(length + 8)
    r, c = _window(rows, cols)
    ragged = ndimage.gaussian_filter(rng.normal(size=(rows, cols)), 2.0)
    ragged /= ragged.std() + 1e-12
    inside = ((r - rows / 2) / (width / 2)) ** 2 + ((c - cols / 2) / (length / 2)) ** 2
    loss = np.clip(1.0 - inside + 0.25 * ragged, 0.0, None) * 0.2
    col = int(rng.uniform(0.1, 0.9) * len(bead.centre))
    row = bead.centre[col] + rng.uniform(-0.4, 0.4) * bead.half_width
    return Indication("slag", int(row - rows / 2), col - cols // 2, loss)


def _polyline_loss(points: np.ndarray, width: float, depth: float) -> tuple[np.ndarray, int, int]:
    lo = np.floor(points.min(axis=0)).astype(int) - 4
    hi = np.ceil(points.max(axis=0)).astype(int) + 5
    r, c = _window(*(hi - lo))
    grid = np.stack([r.ravel(), c.ravel()], axis=1) + lo
    dist = np.full(len(grid), np.inf)
    for a, b in zip(points[:-1], points[1:]):
        ab = b - a
        t = np.clip((grid - a) @ ab / max(float(ab @ ab), 1e-12), 0.0, 1.0)
        dist = np.minimum(dist, np.linalg.norm(grid - a - t[:, None] * ab, axis=1))
    loss = depth * np.clip(1.0 - dist / width, 0.0, None)
    return loss.reshape(r.shape), int(lo[0]), int(lo[1])


def crack(bead: BeadPath, rng: np.random.Generator) -> Indication:
    """A thin jagged line, longitudinal or transverse, from a random walk."""
    steps = int(rng.uniform(30.0, 120.0) / 3.0)
    heading = 0.0 if rng.random() < 0.6 else np.pi / 2.0
    angles = heading + np.cumsum(rng.normal(0.0, 0.35, size=steps)) * 0.5
    path = np.cumsum(3.0 * np.stack([np.sin(angles), np.cos(angles)], axis=1), axis=0)
    col = int(rng.uniform(0.15, 0.85) * len(bead.centre))
    start = np.array([bead.centre[col] + rng.uniform(-0.5, 0.5) * bead.half_width, col])
    loss, r0, c0 = _polyline_loss(path - path.mean(axis=0) + start, rng.uniform(1.0, 1.8), 0.25)
    return Indication("crack", r0, c0, loss)


def lack_of_fusion(bead: BeadPath, rng: np.random.Generator) -> Indication:
    """A straight thin void along one fusion line (the bead's edge)."""
    length = rng.uniform(40.0, 150.0)
    col = int(rng.uniform(0.1, 0.9) * len(bead.centre) - length / 2)
    cols = np.clip(np.arange(col, col + int(length), 4), 0, len(bead.centre) - 1)
    side = rng.choice([-1.0, 1.0])
    rows = bead.centre[cols] + side * 0.85 * bead.half_width
    points = np.stack([rows, cols.astype(float)], axis=1)
    loss, r0, c0 = _polyline_loss(points, rng.uniform(1.5, 2.5), 0.25)
    return Indication("lack_of_fusion", r0, c0, loss)


DRAWERS: dict[str, Callable[[BeadPath, np.random.Generator], Indication]] = {
    "porosity": porosity,
    "slag": slag,
    "crack": crack,
    "lack_of_fusion": lack_of_fusion,
}
