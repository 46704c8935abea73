"""The six synthetic out-of-distribution indication types of Lindgren & Zach (Table 3).

Each drawer returns an additive map of a patch's shape with peak 1, placed at random; a
test set multiplies it by an amplitude in image units. Shapes are drawn as signed distance
fields and softened over about a pixel, so edges are anti-aliased like a real PSF.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from porelab.errors import ConfigError

Drawer = Callable[[tuple[int, int], np.random.Generator], np.ndarray]


def _grid(shape: tuple[int, int], rng: np.random.Generator, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel offsets (dy, dx) from a random centre at least `margin` from the borders."""
    rows, cols = np.mgrid[: shape[0], : shape[1]].astype(np.float32)
    centre = [rng.uniform(min(margin, n / 2), max(n - margin, n / 2)) for n in shape]
    return rows - centre[0], cols - centre[1]


def _soft(inside_distance: np.ndarray) -> np.ndarray:
    """1 inside, 0 outside, a linear ramp one pixel wide across the boundary."""
    return np.clip(0.5 - inside_distance, 0.0, 1.0).astype(np.float32)


def _rotated(dy: np.ndarray, dx: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    return dy * np.cos(angle) + dx * np.sin(angle), -dy * np.sin(angle) + dx * np.cos(angle)


def circular_hollow_inclusion(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A ring: a hollow circular inclusion seen edge-on at its rim."""
    radius, width = rng.uniform(5, 12), rng.uniform(1.5, 3.0)
    dy, dx = _grid(shape, rng, radius + 2)
    return _soft(np.abs(np.hypot(dy, dx) - radius) - width / 2)


def dogbone(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Two discs joined by a thin bar."""
    length, radius, width = rng.uniform(12, 26), rng.uniform(2.5, 4.5), rng.uniform(1.0, 2.0)
    dy, dx = _grid(shape, rng, length / 2 + radius + 2)
    u, v = _rotated(dy, dx, rng.uniform(0, np.pi))
    ends = np.minimum(np.hypot(u - length / 2, v), np.hypot(u + length / 2, v)) - radius
    bar = np.maximum(np.abs(v) - width / 2, np.abs(u) - length / 2)
    return _soft(np.minimum(ends, bar))


def elongated_inclusion(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A long thin ellipse at a random angle."""
    half_length, half_width = rng.uniform(8, 22), rng.uniform(1.0, 2.5)
    dy, dx = _grid(shape, rng, half_length + 2)
    u, v = _rotated(dy, dx, rng.uniform(0, np.pi))
    scaled = np.hypot(u / half_length, v / half_width)
    return _soft((scaled - 1.0) * half_width)


def partial_circle(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """An arc of a ring spanning 90-270 degrees."""
    radius, width = rng.uniform(6, 14), rng.uniform(1.5, 3.0)
    dy, dx = _grid(shape, rng, radius + 2)
    start, span = rng.uniform(0, 2 * np.pi), rng.uniform(np.pi / 2, 1.5 * np.pi)
    angle = np.mod(np.arctan2(dy, dx) - start, 2 * np.pi)
    return _soft(np.abs(np.hypot(dy, dx) - radius) - width / 2) * (angle <= span)


def circular_indication(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A filled disc."""
    radius = rng.uniform(3, 9)
    dy, dx = _grid(shape, rng, radius + 2)
    return _soft(np.hypot(dy, dx) - radius)


def raster(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A grid of thin lines over the whole patch (a screen or detector artefact)."""
    period, width = rng.uniform(5, 10), rng.uniform(1.0, 2.0)
    dy, dx = _grid(shape, rng, 0)
    u, v = _rotated(dy, dx, rng.uniform(0, np.pi / 2))
    distance = np.minimum(np.abs(np.mod(u, period) - period / 2), np.abs(np.mod(v, period) - period / 2))
    return _soft(distance - width / 2)


OOD_TYPES: dict[str, Drawer] = {
    "circular_hollow_inclusion": circular_hollow_inclusion,
    "dogbone": dogbone,
    "elongated_inclusion": elongated_inclusion,
    "partial_circle": partial_circle,
    "circular_indication": circular_indication,
    "raster": raster,
}


def synthetic_ood(kind: str, shape: tuple[int, int], rng: np.random.Generator, amplitude: float = 0.1) -> np.ndarray:
    """An additive map of type `kind` (see `OOD_TYPES`) with peak `amplitude`, float32."""
    if kind not in OOD_TYPES:
        raise ConfigError(f"synthetic_ood: kind {kind!r} is not one of {', '.join(OOD_TYPES)}")
    if len(shape) != 2 or min(shape) < 16:
        raise ConfigError(f"synthetic_ood: expected a 2D shape of at least 16 x 16, got {shape}")
    return (np.float32(amplitude) * OOD_TYPES[kind](tuple(shape), rng)).astype(np.float32)
