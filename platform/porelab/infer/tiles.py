"""Tiled inference: each voxel computed once, with a context margin, for fully convolutional networks.

A half-overlapping window grid runs the network about 8 times per voxel and blends the
results. A fully convolutional segmenter without per-sample statistics (batch norm in eval
mode, no instance norm, no dense layers) gives the same value at a voxel whatever crop it
sees, as long as the crop holds the voxel's receptive field. So the volume is cut into large
core tiles; each runs once with `margin` voxels of real context on every side (none at the
volume's faces, where the network pads as it does on a whole volume), and only its core is
kept. Tile and margin edges sit on multiples of the network's stride, so pooling grids line
up with those of a single pass over the whole volume: with a margin at least the receptive
field's radius, the result equals that single pass to float rounding; with a smaller one it
differs only where the cut context mattered (bench/infer.py reports the largest difference
and the AP against the blended result).

Each tile is read from the source as its own crop and written to the sink as its own block
(`TileSink.write_tile`), so memory is bounded by one tile's input, output and activations,
whatever the slice area: nothing of size Y x X is held. Sources that can only read whole slices
(compressed TIFF pages, slice directories: `Volume.reads_whole_slices`) are read once per row of
tiles as a raw slab instead of once per tile. A sink that takes z blocks only (`sink(z0,
block)`) gets the tiles of each row assembled into one block.
"""

from __future__ import annotations

import ctypes
import functools

import math
from dataclasses import dataclass
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np
import torch
from torch import nn

from porelab.errors import ConfigError
from porelab.infer.sliding import Forward, Sink, Transform, first_output, read_normalised


@dataclass(frozen=True)
class TileConfig:
    """Core tile size (z, y, x), the context margin on each side, and the network's stride."""

    tile: tuple[int, int, int] = (128, 128, 128)
    margin: int = 16
    multiple: int = 1

    def __post_init__(self) -> None:
        if len(self.tile) != 3 or min(self.tile) < 1:
            raise ConfigError(f"tile = {self.tile}; expected three positive sizes (z, y, x)")
        if self.margin < 0 or self.multiple < 1:
            raise ConfigError(
                f"margin = {self.margin}, multiple = {self.multiple}; expected margin >= 0 and multiple >= 1"
            )

    def aligned(self) -> tuple[tuple[int, int, int], int]:
        """Tile and margin rounded up to the stride, so every crop starts on the pooling grid."""
        up = lambda n: self.multiple * math.ceil(n / self.multiple)  # noqa: E731
        tile = (up(self.tile[0]), up(self.tile[1]), up(self.tile[2]))
        return tile, up(self.margin)


def tile_memory_bytes(shape: Sequence[int], config: TileConfig, channels: int = 1, whole_slices: bool = False) -> int:
    """Bytes of the buffers a pass holds, without the network's activations: one tile in (its
    raw crop and the float copy) and out, and, for a source that reads whole slices
    (`whole_slices`), the raw slab of a row of tiles."""
    (tz, ty, tx), margin = config.aligned()
    nz, ny, nx = (int(n) for n in shape)
    tile_in = min(nz, tz + 2 * margin) * min(ny, ty + 2 * margin) * min(nx, tx + 2 * margin)
    slab = min(nz, tz + 2 * margin) * ny * nx if whole_slices else 0
    return 4 * (tile_in * (2 + channels) + slab)


@runtime_checkable
class TileSink(Protocol):
    """Takes a pass's output tile by tile: `block` (C, dz, dy, dx) has its first voxel at `corner`
    (z, y, x). Tiles do not overlap and are valid during the call only."""

    def write_tile(self, corner: tuple[int, int, int], block: np.ndarray) -> None: ...


def tile_stride(model: nn.Module) -> int | None:
    """The stride tiles must align to, or None when a crop's result at a voxel depends on the crop.

    Tile-safe: a segmenter (a module with a `size_multiple` stride and full-size outputs), with
    no instance/group/layer norm and no dense layer anywhere (an autoencoder's latent, a patch
    classifier), which is what a reconstruction-scored anomaly model has.
    """
    strides = [int(m.size_multiple) for m in model.modules() if hasattr(m, "size_multiple")]
    unsafe = (nn.Linear, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d, nn.GroupNorm, nn.LayerNorm)
    if not strides or any(isinstance(module, unsafe) for module in model.modules()):
        return None
    return max(strides)


def tiled_inference(
    source: Any,
    forward: Forward,
    sink: Sink | TileSink,
    config: TileConfig = TileConfig(),
    *,
    transform: Transform | None = None,
    z_range: tuple[int, int] | None = None,
    device: str | torch.device = "cpu",
) -> None:
    """Run `forward` once per core tile of `source` (z, y, x) and stream the result to `sink`.

    The contract is `sliding_window`'s: `forward` maps (1, 1, *crop) to (1, C, *crop) (or a
    list whose first element is that) and `transform`, voxel-wise, normalises each input crop.
    A `TileSink` receives each core tile's output; any other `sink(z0, block)` receives
    consecutive z blocks (C, dz, Y, X), valid during the call only. Together they cover
    `z_range` (default: the whole volume). The tiles lie on one grid from z = 0 whatever
    `z_range` is, so slabs run apart join into the result of one pass.

    Example:
        >>> tiled_inference(vol, model, writer, TileConfig(tile=(96, 96, 96), margin=16, multiple=4))
    """
    shape = tuple(int(n) for n in source.shape)
    begin, end = z_range or (0, shape[0])
    if not 0 <= begin < end <= shape[0]:
        raise ConfigError(f"z_range = {z_range}; expected 0 <= start < end <= {shape[0]}")
    (tz, ty, tx), margin = config.aligned()
    device = torch.device(device)
    out = sink if isinstance(sink, TileSink) else _RowAssembler(sink, shape)
    for z0 in range(tz * (begin // tz), end, tz):
        z1 = min(z0 + tz, shape[0])
        first, last = max(begin, z0), min(end, z1)
        reader = _TileReader(source, (max(0, z0 - margin), min(shape[0], z1 + margin)), transform)
        for y0 in range(0, shape[1], ty):
            for x0 in range(0, shape[2], tx):
                core = (slice(z0, z1), slice(y0, min(y0 + ty, shape[1])), slice(x0, min(x0 + tx, shape[2])))
                crop = tuple(slice(max(0, s.start - margin), min(n, s.stop + margin)) for s, n in zip(core, shape))
                result = _run_tile(reader.read(crop), crop, core, forward, device)
                out.write_tile((first, y0, x0), result[:, first - z0 : last - z0])
                del result
                _return_freed_heap()
        del reader


class _TileReader:
    """Input crops of one row of tiles, voxel-wise normalised, as float32.

    A random-access source (array, memory map, HDF5, zarr) is cropped tile by tile; one that
    reads whole slices is read once for the row, in its own dtype, and cropped from that.
    """

    def __init__(self, source: Any, z_span: tuple[int, int], transform: Transform | None) -> None:
        self.source, self.transform, self.z0 = source, transform, z_span[0]
        self.slab = source[z_span[0] : z_span[1]] if getattr(source, "reads_whole_slices", False) else None

    def read(self, crop: tuple[slice, slice, slice]) -> np.ndarray:
        if self.slab is None:
            return read_normalised(self.source, crop, self.transform)
        return read_normalised(
            self.slab, (slice(crop[0].start - self.z0, crop[0].stop - self.z0),) + crop[1:], self.transform
        )


class _RowAssembler:
    """Assembles the tiles of each row into one z block, for a sink that takes z blocks only."""

    def __init__(self, sink: Sink, shape: tuple[int, ...]) -> None:
        self.sink, self.plane = sink, (int(shape[1]), int(shape[2]))
        self.row: np.ndarray | None = None
        self.z0 = self.filled = 0

    def write_tile(self, corner: tuple[int, int, int], block: np.ndarray) -> None:
        z0, y0, x0 = corner
        if self.row is None:
            self.row, self.z0, self.filled = np.empty(block.shape[:2] + self.plane, np.float32), z0, 0
        self.row[:, :, y0 : y0 + block.shape[2], x0 : x0 + block.shape[3]] = block
        self.filled += block.shape[2] * block.shape[3]
        if self.filled == self.plane[0] * self.plane[1]:
            self.sink(self.z0, self.row)
            self.row = None


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


def _return_freed_heap() -> None:
    """Give the heap that the last tile freed back to the system (glibc's `malloc_trim`).

    A tile's activations below glibc's mmap threshold, which rises after each large free, come
    from the heap, and the differently sized edge tiles leave it fragmented: at 512^3 (demo
    U-Net, 160^3 tiles) the resident memory between tiles grew to 1092 MiB and the peak to
    2194 MiB, over the 2 GiB budget; trimmed after each tile, 598 and 1705 MiB, in the same
    time (bench/infer.py's volume, one thread).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _run_tile(
    tile: np.ndarray,
    crop: tuple[slice, slice, slice],
    core: tuple[slice, slice, slice],
    forward: Forward,
    device: torch.device,
) -> np.ndarray:
    """The network on the core plus its margin (`crop`, clipped at the volume's faces); the core's output."""
    with torch.inference_mode():
        out = first_output(forward(torch.from_numpy(tile)[None, None].to(device))).float()
    expected = tuple(s.stop - s.start for s in crop)
    if out.ndim != 5 or tuple(out.shape[2:]) != expected:
        raise ConfigError(
            f"model output of shape {tuple(out.shape)} for a tile of {expected}; expected (1, channels, *tile)"
        )
    keep = tuple(slice(s.start - c.start, s.stop - c.start) for s, c in zip(core, crop))
    return out[0][(slice(None),) + keep].cpu().numpy()
