"""Turning row numbers into training patches: the step every patch stream shares.

A row number fixes everything about its patch (scan, position, augmentation) through
`row_rng(seed, row)`, so the in-process path and the Ray Data path yield the same patches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from porelab.data.augment import AugmentConfig, augment
from porelab.data.sampling import (
    SamplerConfig,
    balanced_corner,
    grid_corners,
    read_patch,
    row_rng,
    surface_voxels,
    uniform_corner,
)
from porelab.data.scans import ScanRecord


@dataclass(frozen=True)
class PatchConfig:
    """What a patch stream yields: patch size, how positions are drawn, how patches are augmented."""

    patch: tuple[int, int, int] = (64, 64, 64)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0


class PatchMaker:
    """Reads, normalises and augments the patches of a batch of row numbers.

    Used as a Ray Data callable class (one per actor: volumes are opened once) and directly
    in-process. `pores[i]` holds pore-voxel coordinates of scan i for balanced sampling.
    """

    def __init__(
        self, scans: Sequence[ScanRecord], pores: Sequence[np.ndarray], config: PatchConfig, train: bool = True
    ) -> None:
        self.scans, self.pores, self.config, self.train = list(scans), list(pores), config, train
        self._volumes: dict[int, tuple[Any, Any]] = {}
        self._edges: dict[int, np.ndarray] = {}
        weights = np.array([np.prod(s.shape, dtype=np.float64) for s in self.scans])
        self._scan_weights = weights / weights.sum()
        self._grid = [
            (i, c)
            for i, s in enumerate(self.scans)
            for c in grid_corners(s.shape, config.patch, config.sampler.overlap)
        ]

    def _volume_pair(self, index: int) -> tuple[Any, Any]:
        if index not in self._volumes:
            from porelab import volume

            scan = self.scans[index]
            self._volumes[index] = (volume.read(scan.scan_path), volume.read(scan.label_path))
        return self._volumes[index]

    def _position(self, row: int, rng: np.random.Generator) -> tuple[int, tuple[int, int, int]]:
        sampler = self.config.sampler
        if sampler.kind == "grid":
            return self._grid[row % len(self._grid)]
        index = int(rng.choice(len(self.scans), p=self._scan_weights))
        shape = self.scans[index].shape
        if sampler.kind == "uniform":
            return index, uniform_corner(shape, self.config.patch, rng)
        edges = self._surface(index) if sampler.edge_fraction > 0 else None
        return index, balanced_corner(
            shape, self.config.patch, self.pores[index], sampler.pore_fraction, rng, edges, sampler.edge_fraction
        )

    def _surface(self, index: int) -> np.ndarray:
        """The part's surface voxels of scan `index` (found once per maker; none without materials)."""
        if index not in self._edges:
            from porelab import volume

            scan = self.scans[index]
            self._edges[index] = (
                surface_voxels(volume.read(scan.materials_path), volume.read(scan.label_path), seed=index)
                if scan.materials_path
                else np.zeros((0, 3), np.int32)
            )
        return self._edges[index]

    def make(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        rng = row_rng(self.config.seed, row)
        index, corner = self._position(row, rng)
        image_vol, label_vol = self._volume_pair(index)
        image = self.scans[index].normaliser(read_patch(image_vol, corner, self.config.patch))
        label = (read_patch(label_vol, corner, self.config.patch) > 0).astype(np.float32)
        if self.train:
            image, label = augment(image, label, self.config.augment, rng)
        return image, label

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        pairs = [self.make(int(row)) for row in batch["id"]]
        return {
            "image": np.stack([p[0] for p in pairs])[:, None].astype(np.float32),
            "label": np.stack([p[1] for p in pairs])[:, None].astype(np.float32),
        }
