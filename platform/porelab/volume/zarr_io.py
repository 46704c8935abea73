"""zarr (v3) arrays, and OME-Zarr (NGFF) images at their full resolution."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np

from porelab.errors import VolumeError
from porelab.volume.units import mm_per_unit

_CHUNK = 64


def _ome_level0(group: Any, path: Path) -> tuple[Any, tuple[float, float, float] | None]:
    multiscales = group.attrs.get("multiscales") or group.attrs.get("ome", {}).get("multiscales")
    image = multiscales[0]
    level = image["datasets"][0]
    array = group[level["path"]]
    scale = next((t["scale"] for t in level.get("coordinateTransformations", []) if t.get("type") == "scale"), None)
    if scale is None:
        return array, None
    axes = image.get("axes", [])
    units = [a.get("unit", "millimeter") if isinstance(a, dict) else "millimeter" for a in axes][-3:]
    sizes = [
        float(s) * mm_per_unit(u, source=str(path), field="multiscales axes unit")
        for s, u in zip(scale[-3:], units or ["millimeter"] * 3)
    ]
    return array, (sizes[0], sizes[1], sizes[2])


def read_zarr(path: Path) -> tuple[Any, tuple[float, float, float] | None, dict[str, Any]]:
    import zarr

    try:
        node = zarr.open(str(path), mode="r")
    except Exception as err:  # zarr raises several unrelated types for a bad store
        raise VolumeError(
            f"{path}: not a readable zarr store ({type(err).__name__}: {err}); expected a zarr array or OME-Zarr group"
        ) from err
    voxel_size = None
    if isinstance(node, zarr.Group):
        attrs = dict(node.attrs)
        if "multiscales" in attrs or "multiscales" in attrs.get("ome", {}):
            node, voxel_size = _ome_level0(node, path)
        else:
            arrays = list(node.array_keys())
            if len(arrays) != 1:
                raise VolumeError(f"{path}: zarr group with arrays {arrays}; expected one array or OME-Zarr")
            node = node[arrays[0]]
    if voxel_size is None and "voxel_size_mm" in node.attrs:
        voxel_size = tuple(float(v) for v in node.attrs["voxel_size_mm"])
    meta = {"format": "zarr", **dict(node.attrs.get("porelab_metadata", {}))}
    return node, voxel_size, meta  # type: ignore[return-value]


def write_zarr(
    slabs: Iterable[np.ndarray],
    tmp: Path,
    shape: tuple[int, int, int],
    dtype: np.dtype,
    voxel_size: tuple[float, float, float],
    metadata: dict[str, Any],
) -> None:
    import zarr

    chunks = tuple(min(_CHUNK, n) for n in shape)
    array = zarr.create_array(store=str(tmp), shape=shape, dtype=dtype, chunks=chunks)
    array.attrs.update({"voxel_size_mm": list(voxel_size), "axes": "zyx", "porelab_metadata": metadata})
    z = 0
    for slab in slabs:
        array[z : z + len(slab)] = slab
        z += len(slab)
