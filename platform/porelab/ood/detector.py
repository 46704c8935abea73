"""A trained OOD detector (autoencoder + residual thresholds), its file format, and `ood_score`.

Saved detector: one `torch.save` file holding a plain dict
    {"format": FORMAT, "state_dict": ..., "model_config": ModelConfig.to_dict(),
     "thresholds": ResidualThresholds.to_dict(), "input_offset": float, "input_gain": float}
which `torch.load(weights_only=True)` reads (tensors, numbers, strings and lists only). Files
written before the input standardisation existed lack the last two keys and load as
offset 0, gain 1 (the identity).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from porelab.errors import ConfigError
from porelab.models import ModelConfig, build_model
from porelab.ood.residual import PatchDecision, ResidualThresholds, decide

FORMAT = "porelab-ood-detector/1"


@dataclass
class OODDetector:
    """The autoencoder sees (x - input_offset) * input_gain; residuals and thresholds are in
    those standardised units."""

    model: nn.Module
    config: ModelConfig
    thresholds: ResidualThresholds
    input_offset: float = 0.0
    input_gain: float = 1.0

    @property
    def spatial_dims(self) -> int:
        return self.config.spatial_dims

    def residuals(self, patches: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        return autoencoder_residuals(self.model, self.standardise(patches), batch_size)

    def standardise(self, patches: torch.Tensor) -> torch.Tensor:
        return standardised(patches, self.input_offset, self.input_gain)

    def decide(self, patches: torch.Tensor, batch_size: int = 64) -> PatchDecision:
        return decide(self.residuals(patches, batch_size), self.thresholds)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "format": FORMAT,
                "state_dict": self.model.state_dict(),
                "model_config": self.config.to_dict(),
                "thresholds": self.thresholds.to_dict(),
                "input_offset": self.input_offset,
                "input_gain": self.input_gain,
            },
            path,
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> OODDetector:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"OOD detector {path}: no such file")
        saved = torch.load(path, weights_only=True, map_location="cpu")
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            raise ConfigError(
                f"OOD detector {path}: field 'format' must be {FORMAT!r}, got "
                f"{saved.get('format') if isinstance(saved, dict) else type(saved).__name__!r}"
            )
        config = ModelConfig.from_dict(saved["model_config"])
        model = build_model(config)
        model.load_state_dict(saved["state_dict"])
        return cls(
            model.eval(),
            config,
            ResidualThresholds(**saved["thresholds"]),
            float(saved.get("input_offset", 0.0)),
            float(saved.get("input_gain", 1.0)),
        )


def standardised(patches: Any, offset: float, gain: float) -> Any:
    """(patches - offset) * gain for an array or a tensor; the input itself for the identity."""
    if offset == 0.0 and gain == 1.0:
        return patches
    return (patches - offset) * gain


@torch.no_grad()
def autoencoder_residuals(model: nn.Module, patches: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """x - AE(x) for patches (N, 1, *spatial), in eval mode, `batch_size` at a time."""
    model.eval()
    return torch.cat([chunk - model(chunk).reconstruction for chunk in patches.split(batch_size)])


@dataclass
class OODResult:
    """score: the input's largest residual statistic over the threshold (> 1: unlike the
    training data); cells: coarse map of flagged k x k cells (per slice for a 3D input to a
    2D detector: (z, rows, cols))."""

    score: float
    is_ood: bool
    cells: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "is_ood": self.is_ood,
            "flagged_cells": int(self.cells.sum()),
            "cells_shape": list(self.cells.shape),
        }


def ood_score(data: np.ndarray | torch.Tensor, detector: OODDetector, batch_size: int = 16) -> OODResult:
    """Is `data` unlike the detector's training data?

    `data` is a 2D image (rows, cols) or a 3D volume (z, y, x) in the grey-value units the
    detector was trained on. A 2D detector scores a volume slice by slice along z; a 3D
    detector needs a 3D input.
    """
    array = torch.as_tensor(np.asarray(data, dtype=np.float32))
    if array.ndim not in (2, 3) or not torch.isfinite(array).all():
        raise ConfigError(f"ood_score: expected a finite 2D image or 3D volume, got shape {tuple(array.shape)}")
    if array.ndim < detector.spatial_dims:
        raise ConfigError(
            f"ood_score: a {detector.spatial_dims}D detector needs a "
            f"{detector.spatial_dims}D input, got shape {tuple(array.shape)}"
        )
    batch = array[:, None] if array.ndim > detector.spatial_dims else array[None, None]
    decision = detector.decide(batch, batch_size)
    cells = decision.cells if array.ndim > detector.spatial_dims else decision.cells[0]
    score = float(decision.scores.max())
    return OODResult(score, score > 1.0, cells)
