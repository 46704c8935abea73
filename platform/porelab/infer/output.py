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
        self._written = 0
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
        self._written += block.shape[1]

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        os.close(self._fd)
        incomplete = None
        if exc is None and self._written != self.shape[0]:
            incomplete = RuntimeError(f"{self.path}: {self._written} of {self.shape[0]} slices written")
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
