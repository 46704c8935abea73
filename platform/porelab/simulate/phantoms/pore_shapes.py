"""The solids of each pore kind, sized by their equivalent diameter (voxels).

Gas pores are spheres. Keyhole pores are capsules elongated along the build direction (z)
with a tilt. Lack-of-fusion pores are thin, wide clusters of flat lobes lying in a layer
plane; the lobes may not touch, so one instance can be several pieces. Shrinkage pores (cast
parts) are branched trees of thin capsules, the shape of voids between dendrites.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from porelab.simulate.phantoms.shapes import Capsule, Ellipsoid, Shape, Union, rotation_zyx, sphere

ShapeFactory = Callable[[float, np.ndarray, np.random.Generator, dict], Shape]


def _volume(diameter: float) -> float:
    return float(np.pi / 6.0 * diameter**3)


def gas_pore(diameter: float, centre: np.ndarray, rng: np.random.Generator, opts: dict) -> Shape:
    return sphere(centre, diameter / 2.0)


def keyhole_pore(diameter: float, centre: np.ndarray, rng: np.random.Generator, opts: dict) -> Shape:
    """Capsule of total length aspect * 2r, tilted up to `max_tilt_deg` from z."""
    aspect = rng.uniform(1.8, 3.2)
    radius = (_volume(diameter) / (np.pi * (2.0 * aspect - 2.0 / 3.0))) ** (1.0 / 3.0)
    tilt = np.deg2rad(rng.uniform(0.0, opts.get("max_tilt_deg", 20.0)))
    axis = rotation_zyx(tilt, rng.uniform(0.0, 2.0 * np.pi))[0]
    half = radius * (aspect - 1.0)
    return Capsule(centre - half * axis, centre + half * axis, float(radius))


def lack_of_fusion_pore(diameter: float, centre: np.ndarray, rng: np.random.Generator, opts: dict) -> Shape:
    """2-5 flat lobes in the layer plane through `centre`, about 1:5 thick to wide."""
    n_lobes = int(rng.integers(2, 6))
    thickness = float(np.clip(0.16 * diameter, 0.6, 3.0))  # semi-axis along z
    # lobes overlap a little: give them ~1.3x the target volume in total
    lobe_area = 1.3 * _volume(diameter) / n_lobes / (4.0 / 3.0 * np.pi * thickness)
    lobes = []
    for _ in range(n_lobes):
        elong = rng.uniform(1.0, 2.5)
        a, b = np.sqrt(lobe_area * elong), np.sqrt(lobe_area / elong)
        angle = rng.uniform(0.0, 2.0 * np.pi)
        offset = rng.normal(0.0, 0.6 * a, size=2)
        lobe_centre = centre + np.array([rng.normal(0.0, 0.15 * thickness), *offset])
        lobes.append(Ellipsoid(lobe_centre, np.array([a, b, thickness]), _in_layer(angle)))
    return Union(tuple(lobes))


def _in_layer(angle: float) -> np.ndarray:
    """Local axes of a flat lobe: long and short axes in the (y, x) plane, thin axis along z."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[0.0, s, c], [0.0, c, -s], [1.0, 0.0, 0.0]])


def shrinkage_cluster(diameter: float, centre: np.ndarray, rng: np.random.Generator, opts: dict) -> Shape:
    """A branched tree of thin capsules grown from `centre` until it holds the target volume."""
    radius = float(np.clip(0.15 * diameter, 0.7, 2.0))
    segment = 3.0 * radius + 1.0
    n_segments = int(np.clip(round(_volume(diameter) / (np.pi * radius**2 * segment)), 1, 40))
    nodes = [np.asarray(centre, dtype=float)]
    directions = [_random_direction(rng)]
    parts = []
    for _ in range(n_segments):
        parent = int(rng.integers(len(nodes)))
        direction = _bend(directions[parent], rng, np.deg2rad(50.0))
        end = nodes[parent] + segment * direction
        parts.append(Capsule(nodes[parent], end, radius * rng.uniform(0.8, 1.2)))
        nodes.append(end)
        directions.append(direction)
    return Union(tuple(parts))


def _random_direction(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def _bend(direction: np.ndarray, rng: np.random.Generator, spread: float) -> np.ndarray:
    v = direction + np.tan(spread) * _random_direction(rng) * rng.uniform(0.3, 1.0)
    return v / np.linalg.norm(v)


FACTORIES: dict[str, ShapeFactory] = {
    "gas": gas_pore,
    "keyhole": keyhole_pore,
    "lack_of_fusion": lack_of_fusion_pore,
    "shrinkage": shrinkage_cluster,
}
