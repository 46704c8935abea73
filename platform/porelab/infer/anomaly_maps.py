"""Whole-volume anomaly maps of a reconstruction model: |x - x_hat| and x_hat, each averaged
over overlapping windows (Iuso et al.: 64^3 windows, half overlap, plain average), and the one
scoring chain every caller runs on them (`anomaly_scores`: maps, then the post-processing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from porelab.infer.output import ArraySink
from porelab.infer.postprocess import PostprocessConfig, EdgeFit, postprocess
from porelab.infer.sliding import SlidingWindowConfig, sliding_window

ANOMALY_WINDOWS = SlidingWindowConfig(window=(64, 64, 64), overlap=0.5, weighting="average")


def reconstruction_maps(
    volume: np.ndarray,
    model: nn.Module,
    config: SlidingWindowConfig = ANOMALY_WINDOWS,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    device: str | torch.device = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """(A, V_hat) for a volume (z, y, x): the reconstruction error and the reconstruction.

    `model(x)` must return an output whose `reconstruction` has the input's shape (the
    anomaly models of `porelab.models`); `transform` normalises the grey values first.
    """
    model.eval()

    def forward(x: torch.Tensor) -> torch.Tensor:
        x_hat = model(x).reconstruction
        return torch.cat([(x - x_hat).abs(), x_hat], dim=1)

    sink = ArraySink(tuple(volume.shape))
    sliding_window(volume, forward, sink, config, transform=transform, device=device)
    assert sink.array is not None
    error, reconstruction = sink.array
    return error, reconstruction


@dataclass(frozen=True)
class AnomalyScores:
    """An anomaly model's scores over a volume: the raw reconstruction error, the post-processed
    score that its operating point thresholds, and the post-processing's fitted parameters."""

    raw: np.ndarray
    postprocessed: np.ndarray
    fit: EdgeFit


def anomaly_scores(
    volume: np.ndarray,
    model: nn.Module,
    config: SlidingWindowConfig = ANOMALY_WINDOWS,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    postprocessing: PostprocessConfig = PostprocessConfig(),
) -> AnomalyScores:
    """`reconstruction_maps`, then Iuso et al.'s post-processing (`porelab.infer.postprocess`).

    Example:
        >>> scores = anomaly_scores(grey, vae, SlidingWindowConfig(window=(64,) * 3, weighting="average"))
        >>> scores.postprocessed.shape == grey.shape
        True
    """
    with torch.no_grad():
        error, reconstruction = reconstruction_maps(volume, model, config, transform=transform)
    cleaned, fit = postprocess(error, reconstruction, postprocessing)
    return AnomalyScores(error, cleaned, fit)
