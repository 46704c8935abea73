"""Headerless binary volumes: PyHST `.raw`/`.vol` + `.info`, VGSTUDIO `.vgi`, or a shape given by the caller.

The sidecar formats are plain `key = value` text that no maintained library parses, hence
these small parsers. The voxels are memory-mapped, so a slab read costs the slab.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Any

import numpy as np

from porelab.errors import VolumeError
from porelab.volume.units import mm_per_unit

RAW_SUFFIXES = (".raw", ".vol")


@dataclass(frozen=True)
class RawLayout:
    """Where the voxels are in a headerless file and how to read them."""

    data_path: Path
    shape: tuple[int, int, int]  # z, y, x
    dtype: np.dtype
    offset: int = 0
    voxel_size: tuple[float, float, float] | None = None
    sidecar: Path | None = None
    fields: dict[str, str] | None = None


def _parse_key_values(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise VolumeError(f"{path}: cannot read sidecar ({err})") from err
    fields: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "!#;" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        fields[key.strip().upper()] = value.strip()
    return fields


def _positive_int(fields: dict[str, str], key: str, sidecar: Path) -> int:
    if key not in fields:
        raise VolumeError(f"{sidecar}: field {key} is missing; expected '{key} = <number of voxels>'")
    try:
        value = int(float(fields[key]))
    except ValueError:
        raise VolumeError(f"{sidecar}: field {key} = {fields[key]!r}; expected a positive integer") from None
    if value <= 0:
        raise VolumeError(f"{sidecar}: field {key} = {value}; expected a positive integer")
    return value


def _dtype_from_text(text: str, sidecar: Path, field: str) -> np.dtype:
    try:
        return np.dtype(text.strip().lower())
    except TypeError:
        raise VolumeError(
            f"{sidecar}: field {field} = {text!r}; expected a numpy dtype name such as float32 or uint16"
        ) from None


def _pick_dtype(caller: Any, from_file: np.dtype | None, sidecar: Path | None) -> np.dtype | None:
    if caller is not None:
        wanted = np.dtype(caller)
        if from_file is not None and wanted != from_file:
            raise VolumeError(
                f"{sidecar}: dtype {from_file} in the sidecar but {wanted} was asked for; "
                "expected them to agree (drop the dtype argument)"
            )
        return wanted
    return from_file


def _dtype_from_size(data_path: Path, voxels: int, offset: int, sidecar: Path) -> np.dtype:
    """PyHST writes float32; 8- and 16-bit volumes are unsigned grey values."""
    size = data_path.stat().st_size - offset
    by_itemsize = {1: np.dtype("uint8"), 2: np.dtype("<u2"), 4: np.dtype("<f4"), 8: np.dtype("<f8")}
    if size % voxels == 0 and size // voxels in by_itemsize:
        return by_itemsize[size // voxels]
    raise VolumeError(
        f"{sidecar}: no dtype in the sidecar and {data_path.name} holds {size} bytes for "
        f"{voxels} voxels; expected a dtype argument (e.g. dtype='uint16')"
    )


def pyhst_layout(data_path: Path, sidecar: Path, dtype: Any = None) -> RawLayout:
    fields = _parse_key_values(sidecar)
    nx, ny, nz = (_positive_int(fields, k, sidecar) for k in ("NUM_X", "NUM_Y", "NUM_Z"))
    file_dtype = None
    for key in ("DATA_TYPE", "DTYPE", "DATATYPE"):
        if key in fields:
            file_dtype = _dtype_from_text(fields[key], sidecar, key)
    chosen = _pick_dtype(dtype, file_dtype, sidecar) or _dtype_from_size(data_path, nx * ny * nz, 0, sidecar)
    order = fields.get("BYTEORDER", "LOWBYTEFIRST").upper()
    chosen = chosen.newbyteorder(">" if order == "HIGHBYTEFIRST" else "<")
    voxel_size = None
    if "VOXELSIZE" in fields:  # PyHST states it in micrometres
        size_mm = float(fields["VOXELSIZE"]) * 1e-3
        voxel_size = (size_mm, size_mm, size_mm)
    return RawLayout(data_path, (nz, ny, nx), chosen, 0, voxel_size, sidecar, fields)


# --- VGSTUDIO .vgi ------------------------------------------------------------------------


def _parse_vgi(path: Path) -> dict[str, dict[str, str]]:
    """Sections keyed '[name]' (lower case); `{volumeN}` blocks are flattened, first one wins."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for raw_line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw_line.strip()
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip().lower(), {})
        elif "=" in line and not line.startswith("{"):
            key, value = line.split("=", 1)
            current.setdefault(key.strip().lower(), value.strip())
    return sections


def _numbers(text: str, sidecar: Path, field: str, count: int) -> list[float]:
    values = [float(v) for v in re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", text)]
    if len(values) < count:
        raise VolumeError(f"{sidecar}: field {field} = {text!r}; expected {count} numbers")
    return values[:count]


_VGI_KINDS = {
    "unsigned integer": "u",
    "unsigned": "u",
    "signed integer": "i",
    "integer": "i",
    "float": "f",
    "floating point": "f",
    "real": "f",
}


def _vgi_dtype(file_section: dict[str, str], sidecar: Path) -> np.dtype:
    bits_text = file_section.get("bitsperelement")
    if bits_text is None:
        raise VolumeError(f"{sidecar}: [file1] BitsPerElement is missing; expected 8, 16 or 32")
    bits = int(_numbers(bits_text, sidecar, "BitsPerElement", 1)[0])
    if bits not in (8, 16, 32):
        raise VolumeError(f"{sidecar}: [file1] BitsPerElement = {bits}; expected 8, 16 or 32")
    kind_text = file_section.get("datatype", "float" if bits == 32 else "unsigned integer").lower()
    if kind_text not in _VGI_KINDS:
        raise VolumeError(f"{sidecar}: [file1] Datatype = {kind_text!r}; expected one of {sorted(_VGI_KINDS)}")
    kind = _VGI_KINDS[kind_text]
    if kind == "f" and bits != 32:
        raise VolumeError(f"{sidecar}: [file1] float data with BitsPerElement = {bits}; expected 32")
    return np.dtype(f"<{kind}{bits // 8}")


def _vgi_voxel_size(sections: dict[str, dict[str, str]], sidecar: Path) -> tuple[float, float, float] | None:
    geometry = sections.get("geometry", {})
    if "resolution" not in geometry:
        return None
    x, y, z = _numbers(geometry["resolution"], sidecar, "[geometry] resolution", 3)
    mm = mm_per_unit(geometry.get("unit", "mm"), source=str(sidecar), field="[geometry] unit")
    return (z * mm, y * mm, x * mm)


def vgi_layout(sidecar: Path, data_path: Path | None = None, dtype: Any = None) -> RawLayout:
    sections = _parse_vgi(sidecar)
    file_section = sections.get("file1")
    if file_section is None:
        raise VolumeError(f"{sidecar}: section [file1] is missing; expected Size, BitsPerElement and Name in it")
    if "size" not in file_section:
        raise VolumeError(f"{sidecar}: [file1] Size is missing; expected 'Size = X Y Z'")
    nx, ny, nz = (int(v) for v in _numbers(file_section["size"], sidecar, "[file1] Size", 3))
    if min(nx, ny, nz) <= 0:
        raise VolumeError(f"{sidecar}: [file1] Size = {nx} {ny} {nz}; expected positive sizes")
    if data_path is None:
        name = file_section.get("name")
        if not name:
            raise VolumeError(f"{sidecar}: [file1] Name is missing; expected the data file's name")
        data_path = sidecar.parent / PureWindowsPath(name).name  # Name may be a Windows path
    chosen = _pick_dtype(dtype, _vgi_dtype(file_section, sidecar), sidecar)
    offset = int(_numbers(file_section.get("skipheader", "0"), sidecar, "[file1] SkipHeader", 1)[0])
    flat = {f"{s}.{k}": v for s, kv in sections.items() for k, v in kv.items()}
    return RawLayout(data_path, (nz, ny, nx), chosen, offset, _vgi_voxel_size(sections, sidecar), sidecar, flat)


def caller_layout(data_path: Path, shape: Any, dtype: Any, offset: int = 0) -> RawLayout:
    if shape is None or dtype is None:
        raise VolumeError(
            f"{data_path}: no sidecar found ({data_path.name}.info or {data_path.with_suffix('.vgi').name}); "
            "expected one, or shape=(z, y, x) and dtype= for a headerless file"
        )
    dims = tuple(int(n) for n in shape)
    if len(dims) != 3 or min(dims) <= 0:
        raise VolumeError(f"{data_path}: shape {shape!r}; expected three positive sizes (z, y, x)")
    return RawLayout(data_path, dims, np.dtype(dtype), int(offset))  # type: ignore[arg-type]


def find_layout(path: Path, *, dtype: Any = None, shape: Any = None, offset: int = 0) -> RawLayout:
    """The layout of `path` (a .raw/.vol data file, or a .vgi / .info sidecar)."""
    if path.suffix.lower() == ".vgi":
        return vgi_layout(path, dtype=dtype)
    if path.suffix.lower() == ".info":
        return pyhst_layout(path.with_suffix(""), path, dtype)
    if shape is not None:
        return caller_layout(path, shape, dtype, offset)
    info = path.with_name(path.name + ".info")
    if info.is_file():
        return pyhst_layout(path, info, dtype)
    vgi = path.with_suffix(".vgi")
    if vgi.is_file():
        return vgi_layout(vgi, data_path=path, dtype=dtype)
    return caller_layout(path, shape, dtype, offset)


def open_raw(layout: RawLayout) -> np.memmap:
    path = layout.data_path
    if not path.is_file():
        where = f" (named in {layout.sidecar})" if layout.sidecar else ""
        raise VolumeError(f"{path}: data file not found{where}; expected it beside the sidecar")
    expected = int(np.prod(layout.shape, dtype=np.int64)) * layout.dtype.itemsize
    actual = path.stat().st_size - layout.offset
    if actual != expected:
        z, y, x = layout.shape
        raise VolumeError(
            f"{path}: holds {actual} bytes after a {layout.offset}-byte header; expected {expected} "
            f"= {x} x {y} x {z} voxels x {layout.dtype.itemsize} bytes ({layout.dtype})"
            + (f" as {layout.sidecar.name} says" if layout.sidecar else "")
        )
    return np.memmap(path, dtype=layout.dtype, mode="r", offset=layout.offset, shape=layout.shape)
