"""Which inference pass a model gets, and running it: half-overlapping windows, or tiles.

`plan_inference` is the one place that decides, for `predict`, its Ray actors and the scoring
of CV and `porelab evaluate` alike, so the maps an operating point was calibrated on are the
maps a user's verdict is read from. Windows are the default: on the 27 am-eval scans the
bundled porelab-am's AP was 0.943 with windows and 0.934 with one pass per voxel (tiles), Dice
at its operating point 0.899 and 0.897 (`porelab evaluate`): the 8 blended predictions per
voxel act as a small ensemble. With the bundled detector tiles ran at 2.3-2.6x MONAI's windows
on one CPU thread, 0.62-0.73 of one forward pass over the volume (bench/infer.py, 128^3-512^3).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal, Sequence

import numpy as np
import torch
from torch import nn

from porelab.errors import ConfigError
from porelab.infer.sliding import Forward, Sink, SlidingWindowConfig, Transform, sliding_window, working_memory_bytes
from porelab.infer.tiles import TileConfig, tile_memory_bytes, tile_stride, tiled_inference

Engine = Literal["auto", "tiles", "windows"]
InferencePlan = SlidingWindowConfig | TileConfig
ENGINES: tuple[str, ...] = ("auto", "tiles", "windows")
TILE_SIZES = (192, 160, 128, 96, 64, 48, 32)
#: Peak memory of one forward pass of a tile: a fixed part (the first pass's workspaces and
#: allocator pools) and, per tile voxel, a part per first-level channel. Fitted on this machine
#: (CPU, channels-last, peak RSS growth of a repeated pass at 64^3-128^3): U-Net (4, 8) 98 MiB +
#: 71 B/voxel, demo (8, 16, 32) 70 MiB + 134 B/voxel, porelab-am (12, 24, 48) 83 MiB + 215
#: B/voxel, paper (16, 32, 64, 128) 704 MiB at 128^3: about 18 B per voxel and channel.
_ACTIVATION_FIXED_BYTES = 96 * 2**20
_ACTIVATION_BYTES_PER_VOXEL = 16
_ACTIVATION_BYTES_PER_CHANNEL = 20


def plan_inference(
    model: nn.Module,
    shape: Sequence[int],
    window: tuple[int, int, int],
    budget: int,
    *,
    engine: Engine = "windows",
    margin: int = 16,
    overlap: float = 0.5,
    weighting: str = "gaussian",
    batch_size: int = 4,
    whole_slices: bool = False,
) -> InferencePlan:
    """engine "tiles" (or "auto" for a tile-safe network, `porelab.infer.tiles.tile_stride`): tiles
    with the largest core that fits `budget` bytes (counting a raw slab per row of tiles when the
    source reads `whole_slices`, `Volume.reads_whole_slices`). Otherwise (engine "windows", or
    "auto" when no tile fits) the sliding windows of `window`, with the largest batch (<=
    `batch_size`) whose buffers fit half of it."""
    if engine not in ENGINES:
        raise ConfigError(f"engine = {engine!r}; expected one of {', '.join(ENGINES)}")
    stride = tile_stride(model)
    if engine == "tiles" and stride is None:
        raise ConfigError(
            f"engine = 'tiles' for a {type(model).__name__}: its result depends on the crop "
            "(instance norm, dense layers or a reconstruction score); expected engine 'windows'"
        )
    if engine != "windows" and stride is not None:
        tiles = _fit_tiles(
            shape, TileConfig(margin=margin, multiple=stride), _first_channels(model), budget, whole_slices
        )
        if tiles is not None:
            return tiles
        if engine == "tiles":
            raise ConfigError(
                f"max_memory = {budget / 2**20:.0f} MiB; tiles of {TILE_SIZES[-1]} voxels over "
                f"slices of {shape[1]} x {shape[2]} do not fit; expected a larger --max-memory "
                "or engine 'windows'"
            )
    windows = SlidingWindowConfig(
        window=window,
        overlap=overlap,
        weighting=weighting,  # type: ignore[arg-type]
        batch_size=batch_size,
    )
    return _fit_windows(shape, windows, budget)


def run_inference(
    source: Any,
    forward: Forward,
    sink: Sink,
    plan: InferencePlan,
    *,
    transform: Transform | None = None,
    z_range: tuple[int, int] | None = None,
    device: str | torch.device = "cpu",
) -> None:
    """`tiled_inference` or `sliding_window`, as `plan` says (same sink contract)."""
    if isinstance(plan, TileConfig):
        tiled_inference(source, forward, sink, plan, transform=transform, z_range=z_range, device=device)
    else:
        sliding_window(source, forward, sink, plan, transform=transform, z_range=z_range, device=device)


def describe(plan: InferencePlan) -> dict[str, Any]:
    """The plan as summary.json shows it."""
    if isinstance(plan, TileConfig):
        return {"engine": "tiles", "tile": list(plan.tile), "margin": plan.margin, "stride": plan.multiple}
    return {
        "engine": "windows",
        "window": list(plan.window),
        "overlap": plan.overlap,
        "weighting": plan.weighting,
        "batch_size": plan.batch_size,
    }


def _first_channels(model: nn.Module) -> int:
    convs = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))]
    return int(convs[0].out_channels) if convs else 1


def _fit_tiles(
    shape: Sequence[int], config: TileConfig, channels: int, budget: int, whole_slices: bool
) -> TileConfig | None:
    """The largest cubic core (the whole volume when it fits) whose buffers and activations fit."""
    longest = max(int(n) for n in shape)
    sizes = ([longest] if longest <= TILE_SIZES[0] else []) + [s for s in TILE_SIZES if s < longest]
    per_voxel = _ACTIVATION_BYTES_PER_VOXEL + _ACTIVATION_BYTES_PER_CHANNEL * channels
    for size in sizes:
        candidate = replace(config, tile=(size, size, size))
        (tz, ty, tx), margin = candidate.aligned()
        tile_in = int(np.prod([min(int(n), t + 2 * margin) for n, t in zip(shape, (tz, ty, tx))]))
        buffers = tile_memory_bytes(shape, candidate, whole_slices=whole_slices)
        if buffers + _ACTIVATION_FIXED_BYTES + per_voxel * tile_in <= budget:
            return candidate
    return None


def _fit_windows(shape: Sequence[int], sliding: SlidingWindowConfig, budget: int) -> SlidingWindowConfig:
    for batch in range(sliding.batch_size, 0, -1):
        candidate = replace(sliding, batch_size=batch)
        if working_memory_bytes(shape, candidate) <= budget // 2:  # half left for the network's activations
            return candidate
    need = working_memory_bytes(shape, replace(sliding, batch_size=1))
    raise ConfigError(
        f"max_memory = {budget / 2**20:.0f} MiB; a {sliding.window} window over slices of "
        f"{shape[1]} x {shape[2]} needs at least {2 * need / 2**20:.0f} MiB; expected a larger "
        "--max-memory or a smaller --window"
    )
