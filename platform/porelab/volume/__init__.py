"""Volumes on disk: read TIFF, .raw + sidecar, .npy, HDF5 and zarr; write TIFF, .npy and zarr.

from porelab import volume
vol = volume.read("scan.tif")          # lazy: vol[10:20] reads ten slices
volume.write(vol, "scan.zarr")         # atomic: a crash never leaves a whole-looking file
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from porelab.errors import VolumeError
from porelab.progress import track
from porelab.volume.atomic import atomic_target, check_writable
from porelab.volume.core import Projections, Volume, as_voxel_size, count_nonfinite, nonfinite_error
from porelab.volume.hdf5 import HDF5_SUFFIXES, is_data_exchange, read_data_exchange, read_dataset
from porelab.volume.npy import read_npy, write_npy, write_npy_sidecar
from porelab.volume.raw import RAW_SUFFIXES, find_layout, open_raw
from porelab.volume.tiff import TIFF_SUFFIXES, read_tiff_directory, read_tiff_file, write_tiff
from porelab.volume.zarr_io import read_zarr, write_zarr

__all__ = [
    "Volume",
    "Projections",
    "VolumeError",
    "read",
    "read_projections",
    "write",
    "SUPPORTED_READ",
    "SUPPORTED_WRITE",
]

SUPPORTED_READ = (
    "TIFF file or directory of TIFF slices",
    ".raw/.vol + .raw.info (PyHST)",
    ".raw/.vol + .vgi (VGSTUDIO)",
    ".raw with shape= and dtype=",
    ".npy",
    "HDF5 (.h5/.hdf5/.nxs)",
    "zarr (.zarr)",
)
SUPPORTED_WRITE = (".tif/.tiff (OME-TIFF)", ".npy (+ .npy.json)", ".zarr")
_EAGER_CHECK_BYTES = 1 << 30  # below this, NaN/inf are counted at read time; above, slab by slab
_WRITE_SLAB_BYTES = 64 << 20
_CHECK_SLAB_BYTES = 8 << 20  # small slabs keep the NaN scan's footprint small; the cost is the same


def _suffix(path: Path) -> str:
    return path.suffix.lower()


def _read_any(path: Path, dtype: Any, dataset: str | None, shape: Any, offset: int) -> tuple[Any, Any, dict]:
    suffix = _suffix(path)
    if path.is_dir() and suffix != ".zarr" and not (path / "zarr.json").exists():
        return read_tiff_directory(path)
    if suffix == ".zarr" or (path / "zarr.json").exists():
        return read_zarr(path)
    if not path.exists():
        raise VolumeError(f"{path}: no such file or directory; expected a volume")
    if suffix in TIFF_SUFFIXES:
        return read_tiff_file(path)
    if suffix == ".npy":
        return read_npy(path)
    if suffix in HDF5_SUFFIXES:
        return read_dataset(path, dataset)
    if suffix in RAW_SUFFIXES + (".vgi", ".info"):
        layout = find_layout(path, dtype=dtype, shape=shape, offset=offset)
        meta = {
            "format": "raw",
            "sidecar": str(layout.sidecar) if layout.sidecar else None,
            "data_file": str(layout.data_path),
            "header_bytes": layout.offset,
            "sidecar_fields": layout.fields or {},
        }
        return open_raw(layout), layout.voxel_size, meta
    raise VolumeError(f"{path}: unknown suffix {path.suffix!r}; expected one of: {', '.join(SUPPORTED_READ)}")


def _promote_2d(data: Any, path: Path, allow_2d: bool) -> Any:
    if len(data.shape) == 3:
        return data
    if len(data.shape) == 2 and allow_2d:
        return np.asarray(data)[np.newaxis]
    raise VolumeError(
        f"{path}: array of shape {tuple(data.shape)} is {len(data.shape)}-D; expected a 3-D "
        "volume (z, y, x)" + (" (pass allow_2d=True to read one slice)" if len(data.shape) == 2 else "")
    )


def _check_finite(vol: Volume) -> None:
    if not np.issubdtype(vol.dtype, np.floating) or vol.nbytes > _EAGER_CHECK_BYTES:
        return
    nan = inf = 0
    thickness = vol.slab_thickness(_CHECK_SLAB_BYTES)
    for z0 in range(0, vol.shape[0], thickness):
        n, i = count_nonfinite(np.asarray(vol.data[z0 : z0 + thickness]))
        nan, inf = nan + n, inf + i
        vol.release_pages()
    if nan or inf:
        raise nonfinite_error(vol.source, nan, inf, vol.dtype)


def read(
    path: str | Path,
    *,
    dtype: Any = None,
    dataset: str | None = None,
    shape: Any = None,
    offset: int = 0,
    voxel_size: Any = None,
    allow_2d: bool = False,
    allow_nonfinite: bool = False,
) -> Volume | Projections:
    """Open a volume without loading it (memory-mapped or read slice by slice on indexing).

    An HDF5 file in the APS data-exchange layout, opened without `dataset`, gives `Projections`.
    `dtype` is for .raw files whose sidecar names none; `shape`/`offset` for headerless .raw;
    `voxel_size` (mm, one value or z y x) overrides what the file says.
    """
    path = Path(path).expanduser()
    if _suffix(path) in HDF5_SUFFIXES and dataset is None and path.is_file() and is_data_exchange(path):
        return read_data_exchange(path)
    data, found_size, meta = _read_any(path, dtype, dataset, shape, offset)
    data = _promote_2d(data, path, allow_2d)
    meta = {"source": str(path), "dtype": str(np.dtype(data.dtype)), **meta, "allow_nonfinite": allow_nonfinite}
    if voxel_size is not None:
        found_size, meta["voxel_size_source"] = as_voxel_size(voxel_size), "user"
    elif found_size is None:
        found_size, meta["voxel_size_source"] = (1.0, 1.0, 1.0), "unknown (assumed 1 mm)"
    else:
        meta.setdefault("voxel_size_source", meta.get("format", "file"))
    vol = Volume(data, found_size, meta)
    if not allow_nonfinite:
        _check_finite(vol)
    return vol


def read_projections(path: str | Path) -> Projections:
    """Projection data (counts, flats, darks, angles) of a data-exchange HDF5 file."""
    path = Path(path).expanduser()
    if _suffix(path) not in HDF5_SUFFIXES or not path.is_file() or not is_data_exchange(path):
        raise VolumeError(
            f"{path}: not an HDF5 data-exchange file; expected exchange/data with exchange/data_white or exchange/theta"
        )
    return read_data_exchange(path)


def _jsonable(metadata: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(metadata, default=str))


def write(
    vol: Volume | np.ndarray,
    path: str | Path,
    *,
    voxel_size: Any = None,
    overwrite: bool = False,
    progress: bool = False,
    slab_bytes: int = _WRITE_SLAB_BYTES,
) -> Path:
    """Write a volume; the suffix picks the format (.tif/.tiff, .npy, .zarr).

    The data go to a hidden temporary name first and are renamed when complete. Voxels are
    read and written in z slabs of at most `slab_bytes`.
    """
    if not isinstance(vol, Volume):
        vol = Volume(np.asarray(vol), voxel_size if voxel_size is not None else (1.0, 1.0, 1.0))
    elif voxel_size is not None:
        vol = vol.with_voxel_size(voxel_size)
    target = Path(path).expanduser()
    suffix = _suffix(target)
    if suffix not in TIFF_SUFFIXES + (".npy", ".zarr"):
        raise VolumeError(
            f"{target}: cannot write suffix {target.suffix!r}; expected one of {', '.join(SUPPORTED_WRITE)}"
        )
    check_writable(target, overwrite)
    thickness = vol.slab_thickness(slab_bytes)
    n_slabs = -(-vol.shape[0] // thickness)
    slabs = (
        slab
        for _, slab in track(
            vol.iter_slabs(thickness), total=n_slabs, description=f"writing {target.name}", enabled=progress
        )
    )
    meta = _jsonable({k: v for k, v in vol.metadata.items() if k not in ("allow_nonfinite",)})
    with atomic_target(target, overwrite=overwrite) as tmp:
        if suffix in TIFF_SUFFIXES:
            write_tiff(slabs, tmp, vol.shape, vol.dtype, vol.voxel_size, meta)
        elif suffix == ".npy":
            write_npy(slabs, tmp, vol.shape, vol.dtype)
        else:
            write_zarr(slabs, tmp, vol.shape, vol.dtype, vol.voxel_size, meta)
    if suffix == ".npy":
        write_npy_sidecar(target, vol.voxel_size, meta)
    return target
