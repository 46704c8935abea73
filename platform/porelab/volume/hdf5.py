"""HDF5 volumes (h5py, sliced lazily) and APS/NeXus data-exchange projection files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from porelab.errors import VolumeError
from porelab.volume.core import Projections

HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".nxs", ".cxi")
_EXCHANGE = "exchange/data"


def _open(path: Path) -> Any:
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise VolumeError(f"{path}: not a readable HDF5 file ({err}); expected HDF5") from err


def _datasets(handle: Any) -> dict[str, Any]:
    import h5py

    found: dict[str, Any] = {}

    def collect(name: str, obj: Any) -> None:  # returning non-None would stop the visit
        if isinstance(obj, h5py.Dataset):
            found[name] = obj

    handle.visititems(collect)
    return found


def is_data_exchange(path: Path) -> bool:
    with _open(path) as handle:
        return _EXCHANGE in handle and ("exchange/data_white" in handle or "exchange/theta" in handle)


def _voxel_size_attr(dataset: Any) -> tuple[float, float, float] | None:
    for key in ("voxel_size_mm", "voxel_size"):
        if key in dataset.attrs:
            values = np.atleast_1d(np.asarray(dataset.attrs[key], dtype=float))
            return tuple(float(v) for v in np.resize(values, 3))  # type: ignore[return-value]
    return None


def read_dataset(path: Path, name: str | None) -> tuple[Any, tuple[float, float, float] | None, dict[str, Any]]:
    """A dataset of at least two dimensions, left on disk (h5py slices read only what they touch)."""
    handle = _open(path)
    datasets = _datasets(handle)
    if name is None:
        arrays = [n for n, d in datasets.items() if d.ndim == 3]
        if len(arrays) != 1:
            listing = ", ".join(f"{n} {datasets[n].shape}" for n in datasets) or "none"
            raise VolumeError(
                f"{path}: {len(arrays)} three-dimensional datasets (datasets: {listing}); "
                "expected exactly one, or name it with dataset=/--dataset"
            )
        name = arrays[0]
    key = name.strip("/")
    if key not in datasets:
        raise VolumeError(f"{path}: dataset {name!r} not found; expected one of {sorted(datasets)}")
    data = datasets[key]
    return data, _voxel_size_attr(data), {"format": "hdf5", "dataset": key}


def _angles_radians(handle: Any, count: int, path: Path) -> tuple[np.ndarray, str]:
    if "exchange/theta" not in handle:
        return np.linspace(0.0, np.pi, count, endpoint=False), "assumed evenly over 180 degrees"
    theta = handle["exchange/theta"]
    unit = theta.attrs.get("units", "degrees")
    unit = unit.decode() if isinstance(unit, bytes) else str(unit)
    values = np.asarray(theta[...], dtype=np.float64).ravel()
    if values.size != count:
        raise VolumeError(
            f"{path}: exchange/theta holds {values.size} angles for {count} projections; "
            "expected one angle per projection"
        )
    if unit.lower().startswith("rad"):
        return values, "exchange/theta (radians)"
    return np.deg2rad(values), "exchange/theta (degrees)"


def read_data_exchange(path: Path) -> Projections:
    """Counts, flats, darks and angles of an APS data-exchange file, loaded in memory."""
    with _open(path) as handle:
        counts = np.asarray(handle[_EXCHANGE][...])
        if counts.ndim != 3:
            raise VolumeError(f"{path}: {_EXCHANGE} has shape {counts.shape}; expected (angles, rows, cols)")
        flats = np.asarray(handle["exchange/data_white"][...]) if "exchange/data_white" in handle else None
        darks = np.asarray(handle["exchange/data_dark"][...]) if "exchange/data_dark" in handle else None
        angles, angle_source = _angles_radians(handle, counts.shape[0], path)
    meta = {"source": str(path), "format": "hdf5-data-exchange", "angles_from": angle_source}
    return Projections(counts=counts, angles=angles, flats=flats, darks=darks, metadata=meta)
