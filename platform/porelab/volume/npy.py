"""`.npy` volumes, memory-mapped. The voxel size and metadata live in a `NAME.npy.json` sidecar
because the .npy header admits no extra keys."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from porelab.errors import VolumeError
from porelab.volume.atomic import write_text_atomic


def sidecar_of(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def read_npy(path: Path) -> tuple[Any, tuple[float, float, float] | None, dict[str, Any]]:
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise VolumeError(f"{path}: not a readable .npy file ({err}); expected a numpy array file") from err
    voxel_size = None
    meta: dict[str, Any] = {"format": "npy"}
    sidecar = sidecar_of(path)
    if sidecar.is_file():
        try:
            info = json.loads(sidecar.read_text(encoding="utf-8"))
            voxel_size = tuple(float(v) for v in info["voxel_size_mm"])
        except (ValueError, KeyError, TypeError) as err:
            raise VolumeError(
                f'{sidecar}: field voxel_size_mm unreadable ({err}); expected {{"voxel_size_mm": [z, y, x], ...}}'
            ) from err
        meta.update(info.get("metadata", {}))
    return data, voxel_size, meta  # type: ignore[return-value]


def write_npy(slabs: Iterable[np.ndarray], tmp: Path, shape: tuple[int, int, int], dtype: np.dtype) -> None:
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=shape)
    z = 0
    for slab in slabs:
        out[z : z + len(slab)] = slab
        z += len(slab)
    out.flush()
    del out


def write_npy_sidecar(path: Path, voxel_size: tuple[float, float, float], metadata: dict[str, Any]) -> None:
    info = {"voxel_size_mm": list(voxel_size), "axes": "zyx", "metadata": metadata}
    write_text_atomic(sidecar_of(path), json.dumps(info, indent=2, default=str))


class NpyRows:
    """An .npy volume read and written a block of leading-axis rows at a time with plain file
    I/O, never mapped: a process filling a volume bigger than memory keeps only the rows in
    hand (a memory map would count every page it touched in the process's RSS).

    Args:
        path: the .npy file; `shape` and `dtype` create it (sparse, zero-filled) when given,
            otherwise it is opened as it is.

    Example:
        >>> rows = NpyRows("scan.partial.npy", shape=(512, 512, 512), dtype=np.float32)
        >>> rows[8:16] = slices
        >>> first = rows[0:8]
    """

    def __init__(self, path: str | Path, shape: tuple[int, ...] | None = None, dtype: Any = None) -> None:
        self.path = Path(path)
        if shape is not None:
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape}
            with open(self.path, "wb") as out:
                np.lib.format.write_array_header_2_0(out, header)
                out.truncate(out.tell() + int(np.prod(shape)) * np.dtype(dtype).itemsize)
        with open(self.path, "rb") as handle:
            major, _ = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            self.shape, fortran_order, self.dtype = read_header(handle)
            if fortran_order:
                raise VolumeError(f"{self.path}: a Fortran-ordered array; expected C order (rows contiguous)")
            self._offset = handle.tell()
        self._row_bytes = int(np.prod(self.shape[1:])) * self.dtype.itemsize

    def _rows(self, key: slice) -> tuple[int, int]:
        start, stop, step = key.indices(self.shape[0])
        if step != 1:
            raise VolumeError(f"{self.path}: rows {key} taken with a step; expected a contiguous range of rows")
        return start, max(start, stop)

    def __getitem__(self, key: slice) -> np.ndarray:
        start, stop = self._rows(key)
        with open(self.path, "rb") as handle:
            handle.seek(self._offset + start * self._row_bytes)
            raw = handle.read((stop - start) * self._row_bytes)
        return np.frombuffer(raw, self.dtype).reshape((stop - start, *self.shape[1:])).copy()

    def __setitem__(self, key: slice, rows: np.ndarray) -> None:
        start, stop = self._rows(key)
        block = np.ascontiguousarray(rows, dtype=self.dtype)
        if block.shape != (stop - start, *self.shape[1:]):
            raise VolumeError(
                f"{self.path}: rows {start}:{stop} given shape {block.shape}; expected {(stop - start, *self.shape[1:])}"
            )
        with open(self.path, "r+b") as handle:
            handle.seek(self._offset + start * self._row_bytes)
            handle.write(block.tobytes())
            handle.flush()
            os.fsync(handle.fileno())
