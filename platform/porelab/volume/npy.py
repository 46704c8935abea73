"""`.npy` volumes, memory-mapped. The voxel size and metadata live in a `NAME.npy.json` sidecar
because the .npy header admits no extra keys."""

from __future__ import annotations

import json
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
