"""Residual analysis (Lindgren & Zach): k x k local mean and standard deviation of the
autoencoder's residual, thresholds set on accepted training data for a target false-positive
rate, a patch decision and a coarse localisation map.

The two statistics are combined into one number per position: max(|mean| / a, std / b),
with a and b their medians over the accepted training patches (so both count in units of
"typical accepted"), and one threshold on its patch maximum is set at the target FPR. One
threshold keeps the FPR of the combined decision at the target; two separate thresholds
at the target each would add their false positives.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.nn import functional as F

from porelab.errors import ConfigError

KERNEL = 9


@dataclass(frozen=True)
class ResidualThresholds:
    """kernel: k; mean_scale, std_scale: the normalisers a and b; threshold: on the combined
    statistic; target_fpr: the false-positive rate it was set for; patches: how many
    accepted patches set it (a quantile at 1e-3 needs about 1000 for resolution)."""

    kernel: int
    mean_scale: float
    std_scale: float
    threshold: float
    target_fpr: float
    patches: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PatchDecision:
    scores: np.ndarray  # (N,) patch maximum of the combined statistic / threshold (> 1: flagged)
    flagged: np.ndarray  # (N,) bool
    cells: np.ndarray  # (N, *coarse) bool: k x k cells holding a flagged position


def local_mean_std(residual: torch.Tensor, kernel: int = KERNEL) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation over every k x k (k^3 in 3D) window, stride 1, at the
    valid positions only (no padding), each (N, 1, *(size - k + 1)); k is cut to the input."""
    kernel = min(kernel, *residual.shape[2:])
    pool = F.avg_pool2d if residual.ndim == 4 else F.avg_pool3d
    mean = pool(residual, kernel, stride=1)
    square = pool(residual * residual, kernel, stride=1)
    return mean, (square - mean * mean).clamp_min(0.0).sqrt()


def combined_statistic(residual: torch.Tensor, kernel: int, mean_scale: float, std_scale: float) -> torch.Tensor:
    """max(|local mean| / mean_scale, local std / std_scale) at every valid position."""
    mean, std = local_mean_std(residual, kernel)
    return torch.maximum(mean.abs() / mean_scale, std / std_scale)


def kernel_mean_max(residual: torch.Tensor, kernel: int = KERNEL) -> torch.Tensor:
    """Per patch: the maximum over positions of the squared k x k mean of the residual (the
    kernel terms of the loss)."""
    mean, _ = local_mean_std(residual, kernel)
    return (mean * mean).flatten(1).amax(1)


def fit_thresholds(residuals: torch.Tensor, target_fpr: float = 1e-3, kernel: int = KERNEL) -> ResidualThresholds:
    """Thresholds from the residuals (N, 1, *patch) of accepted training patches."""
    if not 0 < target_fpr < 1:
        raise ConfigError(f"fit_thresholds: target_fpr must be in (0, 1), got {target_fpr}")
    if residuals.shape[0] < 2:
        raise ConfigError(f"fit_thresholds: needs at least 2 accepted patches, got {residuals.shape[0]}")
    mean, std = local_mean_std(residuals, kernel)
    mean_scale = float(mean.abs().flatten(1).amax(1).median().clamp_min(1e-12))
    std_scale = float(std.flatten(1).amax(1).median().clamp_min(1e-12))
    statistic = combined_statistic(residuals, kernel, mean_scale, std_scale).flatten(1).amax(1)
    threshold = float(np.quantile(statistic.numpy(), 1.0 - target_fpr, method="higher"))
    return ResidualThresholds(kernel, mean_scale, std_scale, threshold, target_fpr, int(residuals.shape[0]))


def decide(residuals: torch.Tensor, thresholds: ResidualThresholds) -> PatchDecision:
    """Patch decisions and coarse maps for residuals (N, 1, *patch)."""
    statistic = (
        combined_statistic(residuals, thresholds.kernel, thresholds.mean_scale, thresholds.std_scale)
        / thresholds.threshold
    )
    scores = statistic.flatten(1).amax(1)
    pool = F.max_pool2d if residuals.ndim == 4 else F.max_pool3d
    cell = min(thresholds.kernel, *statistic.shape[2:])
    cells = pool(statistic, cell, stride=cell, ceil_mode=True)[:, 0] > 1.0
    return PatchDecision(scores.numpy(), (scores > 1.0).numpy(), cells.numpy())
