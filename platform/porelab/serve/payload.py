"""An uploaded volume: recognised by its magic bytes, checked, made a predict input.

A small body (`ServeConfig.in_memory_max_bytes`) is parsed in memory and handed to the replica
through Ray's object store (`parse_in_memory`). A larger one goes to a file in chunks and
`.npy` input is memory-mapped from there, so a large upload is never held in memory (it is
segmented by the out-of-core `predict`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import AsyncIterator

import numpy as np

from porelab.serve.errors import RequestError

NPY_MAGIC = b"\x93NUMPY"
TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF, both byte orders
_NAN_SLAB_BYTES = 16 * 1024**2


def check_content_encoding(header: str | None) -> None:
    """415 for a compressed or otherwise encoded body: the magic bytes and the memory-mapped read
    need the volume's own bytes."""
    encoding = (header or "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise RequestError(
            f"Content-Encoding {encoding!r} is not supported; expected the .npy or TIFF bytes unencoded "
            "(no Content-Encoding header)",
            415,
        )


def check_content_length(header: str | None, limit: int) -> None:
    """413 when the declared size is over `limit` (before a byte of the body is read)."""
    if header is None:
        return  # chunked upload: `spool` enforces the limit while reading
    try:
        size = int(header)
    except ValueError:
        raise RequestError(f"Content-Length {header!r} is not an integer", 400) from None
    if size > limit:
        raise RequestError(f"body of {size} bytes is over the limit of {limit} bytes (max_body_bytes)", 413)
    if size == 0:
        raise RequestError("empty body; expected a volume as .npy or TIFF bytes", 400)


async def spool(chunks: AsyncIterator[bytes], target: Path, limit: int) -> Path:
    """Write the body to `target`, refusing it (413) as soon as it passes `limit` bytes."""
    written = 0
    with open(target, "wb") as out:
        async for chunk in chunks:
            written += len(chunk)
            if written > limit:
                raise RequestError(f"body is over the limit of {limit} bytes (max_body_bytes)", 413)
            out.write(chunk)
    if written == 0:
        raise RequestError("empty body; expected a volume as .npy or TIFF bytes", 400)
    return target


def sniff_format(path: Path) -> str:
    """'npy' or 'tiff' from the first bytes; 415 for anything else."""
    with open(path, "rb") as f:
        return _format_of(f.read(8))


def _format_of(head: bytes) -> str:
    if head.startswith(NPY_MAGIC):
        return "npy"
    if head[:4] in TIFF_MAGICS:
        return "tiff"
    raise RequestError(
        f"body starts with {head[:6]!r}; expected a .npy file (magic \\x93NUMPY) or a TIFF (II*/MM*)", 415
    )


def _open(path: Path, kind: str) -> np.ndarray:
    try:
        if kind == "npy":
            return np.load(path, mmap_mode="r", allow_pickle=False)
        import tifffile

        return tifffile.imread(path)
    except Exception as err:  # numpy and tifffile raise many types for damaged files
        raise RequestError(f"corrupted {kind} body: {type(err).__name__}: {err}", 400) from err


def _check_finite(array: np.ndarray) -> None:
    if not np.issubdtype(array.dtype, np.floating):
        return
    step = max(1, _NAN_SLAB_BYTES // max(1, array[0].nbytes))
    for z0 in range(0, array.shape[0], step):
        if not np.isfinite(array[z0 : z0 + step]).all():
            raise RequestError(
                f"volume has NaN or infinite values (first in slices {z0}-{z0 + step - 1}); "
                "expected finite grey values",
                422,
            )


def validate(array: np.ndarray, min_size: int) -> np.ndarray:
    """The array if it is a finite, real, numeric 3-D volume at least `min_size` per axis; else 422."""
    if array.dtype.kind not in "uif" or array.dtype.itemsize > 8:
        raise RequestError(f"dtype {array.dtype}; expected an integer or floating-point volume", 422)
    if array.ndim != 3:
        raise RequestError(
            f"shape {tuple(array.shape)} has {array.ndim} dimensions; expected a 3-D volume (z, y, x)", 422
        )
    if min(array.shape) < min_size:
        raise RequestError(
            f"shape {tuple(array.shape)} is too small; expected at least {min_size} voxels along every axis", 422
        )
    _check_finite(array)
    return array


def _header_shape(path: Path, kind: str) -> tuple[int, ...]:
    """The array shape the file's header declares, read without its data (400 when unreadable)."""
    try:
        if kind == "npy":
            return tuple(np.load(path, mmap_mode="r", allow_pickle=False).shape)
        import tifffile

        with tifffile.TiffFile(path) as tif:
            return tuple(tif.series[0].shape)
    except Exception as err:  # numpy and tifffile raise many types for damaged files
        raise RequestError(f"corrupted {kind} body: {type(err).__name__}: {err}", 400) from err


def check_voxels(shape: tuple[int, ...], max_voxels: int) -> None:
    """413 when a volume of `shape` has more than `max_voxels` voxels (before its data is read)."""
    voxels = int(np.prod(shape, dtype=np.int64))
    if voxels > max_voxels:
        raise RequestError(
            f"volume of shape {shape} has {voxels} voxels, over the limit of {max_voxels} (max_voxels); "
            "segment it with `porelab predict`, which streams volumes of any size",
            413,
        )


def parse_in_memory(body: bytes, min_size: int, max_voxels: int | None = None) -> np.ndarray:
    """The checked volume of a body held in memory (a small upload): the same formats, checks
    and answers as `prepare_input`, without a file."""
    import io

    kind = _format_of(body[:8])
    try:
        if kind == "npy":
            array = np.load(io.BytesIO(body), allow_pickle=False)
        else:
            import tifffile

            with tifffile.TiffFile(io.BytesIO(body)) as tif:
                if max_voxels is not None:
                    check_voxels(tuple(tif.series[0].shape), max_voxels)
                array = tif.asarray()
    except RequestError:
        raise
    except Exception as err:  # numpy and tifffile raise many types for damaged files
        raise RequestError(f"corrupted {kind} body: {type(err).__name__}: {err}", 400) from err
    if max_voxels is not None:
        check_voxels(tuple(array.shape), max_voxels)
    return validate(array, min_size)


def prepare_input(
    body: Path, work_dir: Path, min_size: int, voxel_size: float | None, max_voxels: int | None = None
) -> tuple[Path, tuple[int, ...]]:
    """The checked volume as `work_dir/input.npy` (+ voxel-size sidecar) for `predict`; its shape.
    With `max_voxels`, a volume whose header declares more is refused before its data is read."""
    from porelab import volume

    kind = sniff_format(body)
    if max_voxels is not None:
        check_voxels(_header_shape(body, kind), max_voxels)
    array = validate(_open(body, kind), min_size)
    target = work_dir / "input.npy"
    size = voxel_size if voxel_size is not None else 1.0
    if kind == "npy":
        shape = tuple(array.shape)
        del array  # the memory map must be closed before the file moves
        os.replace(body, target)
        from porelab.volume.npy import write_npy_sidecar

        write_npy_sidecar(target, (float(size),) * 3, {"source": "upload"})
        return target, shape
    volume.write(volume.Volume(np.ascontiguousarray(array), (float(size),) * 3), target, overwrite=True)
    body.unlink(missing_ok=True)
    return target, tuple(array.shape)
