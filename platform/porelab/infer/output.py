"""Score maps streamed to disk block by block.

Blocks are written with positioned writes into a `.npy` file rather than through a memory
map: mapped pages would count in the process's resident memory until the kernel evicts
them, and `predict --max-memory` promises a bound on that.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from porelab.volume.atomic import atomic_target
from porelab.volume.npy import write_npy_sidecar


class NpyBlockWriter:
    """Write a (C, Z, Y, X) float32 array (stored as (Z, Y, X) when C == 1) in z blocks.

    Use as a context manager: the file appears under its name only when every block was
    written and the context exits cleanly.
    """

    def __init__(
        self,
        path: Path,
        shape: tuple[int, int, int],
        channels: int = 1,
        voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0),
        overwrite: bool = True,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.path, self.shape, self.channels = Path(path), tuple(shape), int(channels)
        self.voxel_size, self.overwrite, self.metadata = voxel_size, overwrite, metadata or {}
        self.full_shape = self.shape if self.channels == 1 else (self.channels,) + self.shape
        self._written = 0  # voxels per channel
        self._context = None
        self._fd = -1
        self._data_offset = 0

    def __enter__(self) -> "NpyBlockWriter":
        self._context = atomic_target(self.path, overwrite=self.overwrite)
        tmp = self._context.__enter__()
        header = np.lib.format.header_data_from_array_1_0(np.empty((0,), np.float32))
        header["shape"] = self.full_shape
        with open(tmp, "wb") as f:
            np.lib.format.write_array_header_1_0(f, header)
            self._data_offset = f.tell()
            f.truncate(self._data_offset + int(np.prod(self.full_shape, dtype=np.int64)) * 4)
        self._fd = os.open(tmp, os.O_WRONLY)
        return self

    def __call__(self, z0: int, block: np.ndarray) -> None:
        """A sink for `sliding_window`: block of shape (C, dz, Y, X)."""
        block = np.asarray(block, dtype=np.float32)
        plane = self.shape[1] * self.shape[2]
        for c in range(self.channels):
            offset = self._data_offset + 4 * (c * self.shape[0] * plane + z0 * plane)
            os.pwrite(self._fd, np.ascontiguousarray(block[c]).data, offset)
        self._written += block.shape[1] * plane

    def write_tile(self, corner: tuple[int, int, int], block: np.ndarray) -> None:
        """A `porelab.infer.tiles.TileSink`: block of shape (C, dz, dy, dx) at `corner` (z, y, x),
        written row by row (one write per slice where the tile spans whole rows)."""
        block = np.ascontiguousarray(block, dtype=np.float32)
        (z0, y0, x0), (_, dz, dy, dx) = corner, block.shape
        _, ny, nx = self.shape
        for c in range(self.channels):
            channel = self._data_offset + 4 * c * self.shape[0] * ny * nx
            for z in range(dz):
                if dx == nx:
                    os.pwrite(self._fd, block[c, z].data, channel + 4 * ((z0 + z) * ny + y0) * nx)
                    continue
                for y in range(dy):
                    os.pwrite(self._fd, block[c, z, y].data, channel + 4 * (((z0 + z) * ny + y0 + y) * nx + x0))
        self._written += dz * dy * dx

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        os.close(self._fd)
        incomplete = None
        total = int(np.prod(self.shape, dtype=np.int64))
        if exc is None and self._written != total:
            incomplete = RuntimeError(f"{self.path}: {self._written} of {total} voxels written")
        failure = exc if exc is not None else incomplete
        assert self._context is not None
        if failure is None:
            self._context.__exit__(None, None, None)
            write_npy_sidecar(self.path, self.voxel_size, self.metadata)
            return False
        try:
            self._context.__exit__(type(failure), failure, failure.__traceback__)  # drops the partial file
        except BaseException:
            pass
        if incomplete is not None:
            raise incomplete
        return False


class ArraySink:
    """A pass's output (C, Z, Y, X) in memory, taking z blocks (`sink(z0, block)`) and tiles
    (`write_tile`); `z_offset` is the first slice of a pass restricted to a z range. The array is
    made at the first block, when the number of channels is known."""

    def __init__(self, shape: tuple[int, int, int], z_offset: int = 0) -> None:
        self.shape, self.z_offset = tuple(int(n) for n in shape), int(z_offset)
        self.array: np.ndarray | None = None

    def __call__(self, z0: int, block: np.ndarray) -> None:
        self.write_tile((z0, 0, 0), block)

    def write_tile(self, corner: tuple[int, int, int], block: np.ndarray) -> None:
        if self.array is None:
            self.array = np.zeros((block.shape[0],) + self.shape, np.float32)
        z0, y0, x0 = corner
        z0 -= self.z_offset
        self.array[:, z0 : z0 + block.shape[1], y0 : y0 + block.shape[2], x0 : x0 + block.shape[3]] = block
