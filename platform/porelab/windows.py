"""Where the windows of a sliding-window pass go, and how much each voxel of a window counts.

The weights are separable (a product of one 1-D profile per axis) and the windows lie on a
regular grid, so the total weight at a voxel is the product of three 1-D sums. That is why
no full-size weight map is ever accumulated (MONAI's `sliding_window_inference` keeps one the
size of the output): the normaliser costs O(z + y + x) memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from porelab.errors import ConfigError

Weighting = Literal["average", "gaussian"]
_GAUSSIAN_SIGMA_SCALE = 0.125  # sigma = window / 8, as nnU-Net and MONAI do
_MIN_WEIGHT = 1e-3  # keeps window corners from dividing by ~0 at the volume border


def window_starts(length: int, window: int, step: int) -> list[int]:
    """Starts along one axis: regular `step`, the last window flush with the end."""
    if length <= window:
        return [0]
    starts = list(range(0, length - window, step))
    starts.append(length - window)
    return sorted(set(starts))


def profile(window: int, weighting: Weighting) -> np.ndarray:
    """The 1-D weight profile of one window axis (float64, max 1)."""
    if weighting == "average":
        return np.ones(window)
    centre = (window - 1) / 2
    sigma = max(window * _GAUSSIAN_SIGMA_SCALE, 1e-6)
    values = np.exp(-0.5 * ((np.arange(window) - centre) / sigma) ** 2)
    return np.maximum(values / values.max(), _MIN_WEIGHT)


@dataclass(frozen=True)
class WindowGrid:
    """The windows covering a volume of `shape` (after padding to at least one window)."""

    shape: tuple[int, int, int]
    window: tuple[int, int, int]
    overlap: float = 0.5
    weighting: Weighting = "gaussian"

    def __post_init__(self) -> None:
        if not 0.0 <= self.overlap < 1.0:
            raise ConfigError(f"overlap = {self.overlap}; expected a fraction in [0, 1)")
        if self.weighting not in ("average", "gaussian"):
            raise ConfigError(f"weighting = {self.weighting!r}; expected 'average' or 'gaussian'")
        if len(self.window) != 3 or min(self.window) < 1:
            raise ConfigError(f"window = {self.window}; expected three positive sizes (z, y, x)")

    @property
    def padded_shape(self) -> tuple[int, int, int]:
        return tuple(max(n, w) for n, w in zip(self.shape, self.window))  # type: ignore[return-value]

    @property
    def steps(self) -> tuple[int, int, int]:
        return tuple(max(1, int(round(w * (1 - self.overlap)))) for w in self.window)  # type: ignore[return-value]

    def starts(self, axis: int) -> list[int]:
        return window_starts(self.padded_shape[axis], self.window[axis], self.steps[axis])

    def profiles(self) -> list[np.ndarray]:
        return [profile(w, self.weighting) for w in self.window]

    def weight_sum(self, axis: int) -> np.ndarray:
        """Total weight along one axis of the padded volume (the separable normaliser)."""
        total = np.zeros(self.padded_shape[axis])
        prof = self.profiles()[axis]
        for start in self.starts(axis):
            total[start : start + self.window[axis]] += prof
        return total

    def window_weight(self) -> np.ndarray:
        """The 3-D weight of one window, float32."""
        pz, py, px = self.profiles()
        return (pz[:, None, None] * py[None, :, None] * px[None, None, :]).astype(np.float32)

    @property
    def count(self) -> int:
        return int(np.prod([len(self.starts(a)) for a in range(3)]))


def as_window(window: int | Sequence[int]) -> tuple[int, int, int]:
    values = [int(window)] * 3 if np.isscalar(window) else [int(w) for w in window]  # type: ignore[union-attr]
    if len(values) != 3:
        raise ConfigError(f"window = {window!r}; expected one size or three (z, y, x)")
    return (values[0], values[1], values[2])
