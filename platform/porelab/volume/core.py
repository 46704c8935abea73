"""`Volume` and `Projections`: what every reader returns and every writer takes."""

from __future__ import annotations

import mmap
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Sequence

import numpy as np

from porelab.errors import VolumeError
from porelab.volume.lazy import SliceStack

VoxelSize = tuple[float, float, float]


def as_voxel_size(value: float | Sequence[float], *, source: str = "voxel size") -> VoxelSize:
    """One value (isotropic) or three (z, y, x), all positive and finite, in mm."""
    values = [float(value)] * 3 if np.isscalar(value) else [float(v) for v in value]  # type: ignore[union-attr]
    if len(values) == 1:
        values = values * 3
    if len(values) != 3 or not all(np.isfinite(v) and v > 0 for v in values):
        raise VolumeError(f"{source}: expected one or three positive sizes in mm (z y x), got {value!r}")
    return (values[0], values[1], values[2])


def count_nonfinite(array: np.ndarray) -> tuple[int, int]:
    """(number of NaN, number of +-inf) in a float array; (0, 0) for other dtypes."""
    if not np.issubdtype(array.dtype, np.floating):
        return 0, 0
    nan = int(np.count_nonzero(np.isnan(array)))
    inf = int(np.count_nonzero(np.isinf(array)))
    return nan, inf


def nonfinite_error(source: str, nan: int, inf: int, dtype: np.dtype) -> VolumeError:
    return VolumeError(
        f"{source}: data: {nan} voxel(s) are NaN and {inf} are +-inf in {dtype} data; expected "
        "finite values (repair the file, or read it with allow_nonfinite=True)"
    )


_REAL_KINDS = "biuf"  # bool, signed and unsigned integers, floating point


def check_real_dtype(source: str, field_name: str, dtype: Any) -> None:
    """Refuse complex, string, object and structured data: a grey value is one real number."""
    dtype = np.dtype(dtype)
    if dtype.kind not in _REAL_KINDS or dtype.fields is not None:
        raise VolumeError(
            f"{source}: {field_name}: dtype {dtype} holds no real grey values; expected integers, "
            "floating point or bool (complex data: save its magnitude or real part)"
        )


@dataclass(frozen=True)
class Volume:
    """A 3-D grey-value (or label) volume, axes (z, y, x), with its voxel size in mm.

    `data` is a numpy array, a `numpy.memmap`, or a lazily read array (TIFF pages, HDF5,
    zarr). Indexing a `Volume` reads only the requested part and returns a numpy array, so
    `vol[z0:z1]` costs the slab, not the file.
    """

    data: Any
    voxel_size: VoxelSize = (1.0, 1.0, 1.0)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        source = self.metadata.get("source", "volume")
        if not hasattr(self.data, "shape") or not hasattr(self.data, "dtype"):
            object.__setattr__(self, "data", np.asarray(self.data))
        if len(self.data.shape) != 3:
            raise VolumeError(
                f"{source}: shape {tuple(self.data.shape)} has {len(self.data.shape)} axes; "
                "expected a 3-D volume (z, y, x)"
            )
        if any(n == 0 for n in self.data.shape):
            raise VolumeError(f"{source}: shape {tuple(self.data.shape)} is empty; expected at least one voxel")
        check_real_dtype(source, "data", self.data.dtype)
        object.__setattr__(self, "voxel_size", as_voxel_size(self.voxel_size, source=f"{source}: voxel size"))

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.data.shape)  # type: ignore[return-value]

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.data.dtype)

    @property
    def ndim(self) -> int:
        return 3

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    @property
    def source(self) -> str:
        return str(self.metadata.get("source", "volume"))

    @property
    def is_lazy(self) -> bool:
        """True when the voxels stay on disk until indexed (memmap, TIFF pages, HDF5, zarr)."""
        return not (isinstance(self.data, np.ndarray) and not isinstance(self.data, np.memmap))

    @property
    def reads_whole_slices(self) -> bool:
        """True when any read decodes whole slices (compressed TIFF pages, slice files), so a
        crop costs as much as the slices it spans."""
        return isinstance(self.data, SliceStack)

    def __getitem__(self, key: Any) -> np.ndarray:
        out = np.asarray(self.data[key])
        if not self.metadata.get("allow_nonfinite", False):
            nan, inf = count_nonfinite(out)
            if nan or inf:
                raise nonfinite_error(self.source, nan, inf, self.dtype)
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[...]
        return out if dtype is None else out.astype(dtype, copy=False)

    def to_numpy(self) -> np.ndarray:
        """All voxels in memory."""
        return self[...]

    def iter_slabs(self, thickness: int) -> Iterator[tuple[int, np.ndarray]]:
        """(z0, slab) pairs covering the volume, each at most `thickness` slices."""
        thickness = max(1, int(thickness))
        for z0 in range(0, self.shape[0], thickness):
            yield z0, self[z0 : z0 + thickness]

    def slab_thickness(self, max_bytes: int) -> int:
        """Slices per slab so that one slab stays under `max_bytes` (at least one slice)."""
        slice_bytes = self.nbytes // self.shape[0]
        return max(1, int(max_bytes // max(slice_bytes, 1)))

    def release_pages(self) -> None:
        """Drop this process's mapped pages of a memory-mapped file (they stay in the page cache).

        Reading a memmap slab by slab otherwise leaves every page read so far counted in the
        process's resident memory; streaming passes call this after each slab.
        """
        base = self.data
        while isinstance(base, np.ndarray) and not hasattr(base, "_mmap") and base.base is not None:
            base = base.base
        handle = getattr(base, "_mmap", None)
        if handle is not None and hasattr(mmap, "MADV_DONTNEED"):
            handle.madvise(mmap.MADV_DONTNEED)

    def with_voxel_size(self, voxel_size: float | Sequence[float]) -> "Volume":
        return replace(
            self, voxel_size=as_voxel_size(voxel_size), metadata={**self.metadata, "voxel_size_source": "user"}
        )


@dataclass(frozen=True)
class Projections:
    """Raw projection data of a scan, for reconstruction.

    counts: (n_angles, rows, cols) detector counts; flats/darks: (n, rows, cols) or None;
    angles: rotation angles in radians, one per projection.
    """

    counts: np.ndarray
    angles: np.ndarray
    flats: np.ndarray | None = None
    darks: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        source = self.metadata.get("source", "projections")
        if self.counts.ndim != 3:
            raise VolumeError(f"{source}: counts: shape {self.counts.shape}; expected (angles, rows, cols)")
        for name in ("counts", "flats", "darks"):
            if getattr(self, name) is not None:
                check_real_dtype(source, name, getattr(self, name).dtype)
        angles = np.asarray(self.angles, dtype=np.float64).ravel()
        if angles.size != self.counts.shape[0]:
            raise VolumeError(
                f"{source}: angles: {angles.size} values for {self.counts.shape[0]} projections; "
                "expected one angle per projection"
            )
        object.__setattr__(self, "angles", angles)
        for name in ("flats", "darks"):
            ref = getattr(self, name)
            if ref is not None and tuple(ref.shape[1:]) != tuple(self.counts.shape[1:]):
                raise VolumeError(
                    f"{source}: {name}: frames of shape {tuple(ref.shape[1:])}; expected "
                    f"{tuple(self.counts.shape[1:])} like the projections"
                )

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.counts.shape)  # type: ignore[return-value]
