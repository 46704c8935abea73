"""TIFF volumes: one multi-page file or a directory of one-slice files (tifffile).

The voxel size comes from OME-XML, ImageJ metadata, tifffile's own JSON description, or the
resolution tags, in that order. Files we write are OME-TIFF (BigTIFF past 4 GB) carrying the
voxel size in mm, so `read` gets it back.
"""

from __future__ import annotations

import json
import re
import struct
import uuid
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import tifffile

from porelab.errors import VolumeError
from porelab.volume.lazy import SliceStack
from porelab.volume.units import mm_per_unit

TIFF_SUFFIXES = (".tif", ".tiff")
_BIGTIFF_FROM_BYTES = 2**32 - 2**25  # leave room for tags and OME-XML below the 4 GiB limit


def natural_key(name: str) -> list[Any]:
    """Sort key putting `slice_2` before `slice_10`."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _open(path: Path) -> tifffile.TiffFile:
    try:
        return tifffile.TiffFile(path)
    except (tifffile.TiffFileError, ValueError, OSError, struct.error) as err:
        raise VolumeError(f"{path}: not a readable TIFF file ({err}); expected a valid TIFF") from err


# --- voxel size from metadata -------------------------------------------------------------


def _ome_voxel_size(tif: tifffile.TiffFile, source: str) -> tuple[float, float, float] | None:
    root = ElementTree.fromstring(tif.ome_metadata)
    pixels = next((el for el in root.iter() if el.tag.endswith("Pixels")), None)
    if pixels is None or "PhysicalSizeX" not in pixels.attrib:
        return None
    sizes = []
    for axis in ("Z", "Y", "X"):
        value = pixels.attrib.get(f"PhysicalSize{axis}", pixels.attrib.get("PhysicalSizeX"))
        unit = pixels.attrib.get(f"PhysicalSize{axis}Unit", "µm")
        sizes.append(float(value) * mm_per_unit(unit, source=source, field=f"OME PhysicalSize{axis}Unit"))
    return (sizes[0], sizes[1], sizes[2])


def _resolution_mm(page: tifffile.TiffPage, tag: str, mm_per: float) -> float | None:
    entry = page.tags.get(tag)
    if entry is None:
        return None
    num, den = entry.value
    return (den / num) * mm_per if num else None


def _imagej_voxel_size(tif: tifffile.TiffFile, source: str) -> tuple[float, float, float] | None:
    meta = tif.imagej_metadata or {}
    unit = meta.get("unit")
    if not unit:
        return None
    mm_per = mm_per_unit(str(unit), source=source, field="ImageJ unit")
    page = tif.pages[0]
    x = _resolution_mm(page, "XResolution", mm_per)
    y = _resolution_mm(page, "YResolution", mm_per) or x
    if x is None:
        return None
    z = float(meta["spacing"]) * mm_per if "spacing" in meta else x
    return (z, y, x)


def _tag_voxel_size(tif: tifffile.TiffFile) -> tuple[float, float, float] | None:
    page = tif.pages[0]
    unit = page.tags.get("ResolutionUnit")
    if unit is None or int(unit.value) != 3:  # only CENTIMETER: inch defaults (72 dpi) mean nothing
        return None
    x = _resolution_mm(page, "XResolution", 10.0)
    y = _resolution_mm(page, "YResolution", 10.0) or x
    return None if x is None else (x, y, x)


def tiff_voxel_size(tif: tifffile.TiffFile, source: str) -> tuple[tuple[float, float, float] | None, str]:
    """(voxel size in mm or None, where it came from)."""
    if tif.is_ome and tif.ome_metadata:
        found = _ome_voxel_size(tif, source)
        if found:
            return found, "ome"
    if tif.is_imagej:
        found = _imagej_voxel_size(tif, source)
        if found:
            return found, "imagej"
    shaped = tif.shaped_metadata
    if shaped and "voxel_size_mm" in shaped[0]:
        return tuple(float(v) for v in shaped[0]["voxel_size_mm"]), "tifffile-json"  # type: ignore[return-value]
    found = _tag_voxel_size(tif)
    return (found, "resolution-tags (z assumed = x)") if found else (None, "default")


# --- readers ----------------------------------------------------------------------------


def _series_array(tif: tifffile.TiffFile, path: Path) -> tuple[Any, tuple[int, ...], np.dtype]:
    if not tif.series or not len(tif.pages):
        raise VolumeError(f"{path}: not a readable TIFF file (no image pages found); expected at least one page")
    series = tif.series[0]
    shape = tuple(n for n in series.shape if n != 1) or (1,)
    _check_complete(tif, path)
    try:
        data = tifffile.memmap(path, mode="r", series=0)
        return data.reshape(shape), shape, np.dtype(data.dtype)
    except (ValueError, TypeError):
        pages = series.pages
        if len(shape) == 3 and len(tif.pages) < shape[0]:
            raise VolumeError(
                f"{path}: truncated or damaged TIFF: its series claims {shape[0]} slices, only "
                f"{len(tif.pages)} page(s) can be read; expected a complete file (copy it again)"
            )
        if len(shape) == 3 and len(pages) != shape[0]:
            raise VolumeError(
                f"{path}: series of shape {series.shape} is not stored one page per slice; "
                "expected a stack of 2-D pages"
            ) from None
        if len(shape) == 3:
            return SliceStack(shape, series.dtype, lambda z: pages[z].asarray()), shape, series.dtype
        return series.asarray().reshape(shape), shape, np.dtype(series.dtype)


def _check_complete(tif: tifffile.TiffFile, path: Path) -> None:
    """A file cut short (an interrupted copy) keeps its first pages' headers: every page's data
    must end inside the file, or reading it later fails with a message about something else."""
    size = path.stat().st_size
    for page in tif.pages:
        ends = [int(offset) + int(count) for offset, count in zip(page.dataoffsets, page.databytecounts)]
        if ends and max(ends) > size:
            raise VolumeError(
                f"{path}: truncated TIFF: page {page.index} needs bytes up to {max(ends)}, the file "
                f"holds {size}; expected a complete file (copy it again)"
            )


def read_tiff_file(path: Path) -> tuple[Any, tuple[float, float, float] | None, dict[str, Any]]:
    tif = _open(path)
    data, shape, dtype = _series_array(tif, path)
    voxel_size, origin = tiff_voxel_size(tif, str(path))
    return data, voxel_size, {"format": "tiff", "voxel_size_source": origin, "pages": len(tif.pages)}


def list_slice_files(directory: Path) -> list[Path]:
    files = [p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in TIFF_SUFFIXES]
    if not files:
        raise VolumeError(f"{directory}: directory holds no .tif/.tiff slice files; expected one file per slice")
    return sorted(files, key=lambda p: natural_key(p.name))


def _slice_header(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    with _open(path) as tif:
        page = tif.pages[0]
        return tuple(page.shape), np.dtype(page.dtype)


def read_tiff_directory(directory: Path) -> tuple[Any, tuple[float, float, float] | None, dict[str, Any]]:
    files = list_slice_files(directory)
    shape0, dtype0 = _slice_header(files[0])
    for f in files[1:]:
        shape, dtype = _slice_header(f)
        if shape != shape0 or dtype != dtype0:
            raise VolumeError(
                f"{f}: slice of shape {shape} and dtype {dtype}; expected {shape0} {dtype0} "
                f"like {files[0].name} (mixed slice shapes in {directory})"
            )
    if len(shape0) != 2:
        raise VolumeError(f"{files[0]}: slice of shape {shape0}; expected a 2-D image per file")
    with _open(files[0]) as tif:
        voxel_size, origin = tiff_voxel_size(tif, str(files[0]))

    def read_slice(z: int) -> np.ndarray:
        return tifffile.imread(files[z])

    stack = SliceStack((len(files),) + shape0, dtype0, read_slice)
    meta = {
        "format": "tiff-directory",
        "voxel_size_source": origin,
        "files": len(files),
        "first_file": files[0].name,
        "last_file": files[-1].name,
    }
    return stack, voxel_size, meta


# --- writer -------------------------------------------------------------------------------


def write_tiff(
    slabs: Iterable[np.ndarray],
    target: Path,
    shape: tuple[int, int, int],
    dtype: np.dtype,
    voxel_size: tuple[float, float, float],
    metadata: dict[str, Any],
) -> None:
    """Write an OME-TIFF, one page per z slice, streamed from `slabs`.

    The OME UUID is derived from the shape, dtype, voxel size and metadata (tifffile draws a
    random one), so writing the same volume twice gives the same bytes and the same checksum.
    """
    nbytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    z, y, x = voxel_size
    description = json.dumps({"porelab": metadata}, default=str)
    identity = json.dumps([list(shape), np.dtype(dtype).str, list(voxel_size), description])
    ome = {
        "UUID": str(uuid.uuid5(uuid.NAMESPACE_URL, "porelab:" + identity)),
        "axes": "ZYX",
        "PhysicalSizeZ": z,
        "PhysicalSizeY": y,
        "PhysicalSizeX": x,
        "PhysicalSizeZUnit": "mm",
        "PhysicalSizeYUnit": "mm",
        "PhysicalSizeXUnit": "mm",
        "Description": description,
    }

    def pages() -> Iterable[np.ndarray]:
        for slab in slabs:
            yield from slab

    with tifffile.TiffWriter(target, bigtiff=nbytes >= _BIGTIFF_FROM_BYTES, ome=True) as tif:
        tif.write(
            pages(),
            shape=shape,
            dtype=dtype,
            metadata=ome,
            resolution=(10.0 / x, 10.0 / y),
            resolutionunit="CENTIMETER",
        )
