"""Placing pore solids into a part without overlaps: the ground-truth volumes grow here."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from porelab.simulate.phantoms.render import Rendered, render
from porelab.simulate.phantoms.shapes import Shape

_CUBE = np.ones((3, 3, 3), dtype=bool)
_FACES = ndimage.generate_binary_structure(3, 1)


@dataclass
class PoreCanvas:
    """Ground truth under construction.

    `solid` is the part (materials > 0); its outside defines the surface. `host` is where void
    may replace material (the matrix of a composite; the whole part otherwise). Every placed
    pore keeps one empty voxel (26-neighbourhood) between itself and any other pore.
    """

    solid: np.ndarray
    host: np.ndarray
    supersample: int = 3
    fraction: np.ndarray = field(init=False)
    labels: np.ndarray = field(init=False)
    occupied: np.ndarray = field(init=False)
    kinds: list[str] = field(init=False, default_factory=list)
    void_volumes: list[float] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.fraction = np.zeros(self.solid.shape, dtype=np.float32)
        self.labels = np.zeros(self.solid.shape, dtype=np.int32)
        self.occupied = np.zeros(self.solid.shape, dtype=bool)

    @property
    def count(self) -> int:
        return len(self.kinds)

    def place(self, shape: Shape, kind: str, surface: bool) -> float:
        """Add the pore if it fits (no overlap; inside the part, or breaking its surface when
        `surface`). Returns the void volume added in voxels, 0.0 when rejected."""
        rendered = render(shape, self.solid.shape, self.supersample)
        if rendered is None or (not surface and not self._box_inside_grid(shape)):
            return 0.0
        grown = _grow(rendered.slices, self.solid.shape)
        footprint = rendered.fraction > 0
        if self.occupied[rendered.slices][footprint].any():
            return 0.0
        fraction = rendered.fraction * self.host[rendered.slices]
        label = fraction >= 0.5
        if not label.any() or not self._fits(rendered, grown, label, surface):
            return 0.0
        return self._commit(rendered, grown, fraction, label, kind)

    def _box_inside_grid(self, shape: Shape) -> bool:
        lo, hi = shape.bounds()
        return bool(np.all(lo >= 1.0) and np.all(hi <= np.asarray(self.solid.shape) - 2.0))

    def _fits(self, rendered: Rendered, grown: tuple[slice, ...], label: np.ndarray, surface: bool) -> bool:
        solid = self.solid[grown]
        inner = _embed(rendered.fraction > 0, rendered.slices, grown)
        if not surface:
            return bool(solid[ndimage.binary_dilation(inner, _CUBE)].all())
        if solid[inner].all():
            return False
        next_to_air = ndimage.binary_dilation(~solid, _FACES)
        return bool((_embed(label, rendered.slices, grown) & next_to_air).any())

    def _commit(
        self, rendered: Rendered, grown: tuple[slice, ...], fraction: np.ndarray, label: np.ndarray, kind: str
    ) -> float:
        self.kinds.append(kind)
        self.void_volumes.append(float(fraction.sum()))
        pore_id = self.count
        box = rendered.slices
        self.fraction[box] = np.maximum(self.fraction[box], fraction)
        self.labels[box][label] = pore_id
        footprint = _embed(rendered.fraction > 0, box, grown)
        self.occupied[grown] |= ndimage.binary_dilation(footprint, _CUBE)
        return self.void_volumes[-1]


def _grow(box: tuple[slice, ...], grid_shape: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(slice(max(s.start - 1, 0), min(s.stop + 1, n)) for s, n in zip(box, grid_shape))


def _embed(values: np.ndarray, box: tuple[slice, ...], grown: tuple[slice, ...]) -> np.ndarray:
    """`values` over `box`, padded with False to the enclosing box `grown`."""
    out = np.zeros(tuple(g.stop - g.start for g in grown), dtype=bool)
    inner = tuple(slice(b.start - g.start, b.stop - g.start) for b, g in zip(box, grown))
    out[inner] = values
    return out
