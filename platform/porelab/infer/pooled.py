"""Sliding windows of several volumes through shared forward passes (the service's batching).

Every window has the model's window shape, whatever the volume it comes from, so windows of
volumes of different shapes stack into one batch. The windows of each volume are first
recorded by running `sliding_window` with a forward that only keeps its input; all recorded
windows then go through the model `max_windows` at a time; a second `sliding_window` per
volume replays the outputs in the order it asks for them. Blending and normalisation are
`sliding_window`'s own, so a volume's score is the one a pass of its own gives (up to the
float rounding of the forward pass).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from porelab.errors import ConfigError
from porelab.infer.sliding import Forward, Sink, SlidingWindowConfig, Transform, first_output, sliding_window


@dataclass(frozen=True)
class PooledVolume:
    """One volume of a pooled pass: what `sliding_window` would take for it alone."""

    source: Any
    sink: Sink
    config: SlidingWindowConfig
    transform: Transform | None = None


def _record(volume: PooledVolume) -> list[torch.Tensor]:
    batches: list[torch.Tensor] = []

    def keep(batch: torch.Tensor) -> torch.Tensor:
        batches.append(batch)
        return batch  # a (B, 1, *window) stand-in output: only its shape is checked

    sliding_window(volume.source, keep, _discard, volume.config, transform=volume.transform)
    return batches


def _discard(_z0: int, _block: np.ndarray) -> None:
    pass


def _replayer(outputs: Iterator[torch.Tensor]) -> Forward:
    def replay(_batch: torch.Tensor) -> torch.Tensor:
        return next(outputs)

    return replay


def _forward_all(forward: Forward, windows: torch.Tensor, max_windows: int, device: torch.device) -> torch.Tensor:
    with torch.inference_mode():
        return torch.cat(
            [first_output(forward(chunk.to(device))).float().cpu() for chunk in windows.split(max_windows)]
        )


def pooled_sliding_window(
    volumes: Sequence[PooledVolume], forward: Forward, max_windows: int, device: str | torch.device = "cpu"
) -> int:
    """Score every volume as `sliding_window` would, running at most `max_windows` windows of
    any of the volumes per call of `forward`; returns the number of forward passes."""
    if max_windows < 1:
        raise ConfigError(f"max_windows = {max_windows}; expected >= 1")
    windows = {tuple(v.config.grid(v.source.shape).window) for v in volumes}
    if len(windows) > 1:
        raise ConfigError(f"pooled volumes have windows {sorted(windows)}; expected one window shape")
    recorded = [_record(volume) for volume in volumes]
    if not recorded:
        return 0
    inputs = torch.cat([batch for batches in recorded for batch in batches])
    outputs = _forward_all(forward, inputs, max_windows, torch.device(device))
    start = 0
    for volume, batches in zip(volumes, recorded):
        sizes = [len(batch) for batch in batches]
        mine = outputs[start : start + sum(sizes)].split(sizes)
        start += sum(sizes)
        sliding_window(volume.source, _replayer(iter(mine)), volume.sink, volume.config, transform=volume.transform)
    return -(-len(inputs) // max_windows)
