"""Checkpoint files: state dict + model config + normalisation + loop state, and once a model is
calibrated its operating point (`operating_point`, `calibration`), loadable with
`torch.load(weights_only=True)` (no pickled code runs when a checkpoint is opened)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from porelab.checkpoint.info import CheckpointInfo
from porelab.errors import ConfigError
from porelab.models import ModelConfig, build_model
from porelab.volume.atomic import atomic_target

FORMAT = "porelab-checkpoint/1"


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model inside DistributedDataParallel (or the model itself)."""
    return getattr(model, "module", model)


def save_checkpoint(
    path: Path,
    model: nn.Module,
    train_config: dict[str, Any],
    *,
    epoch: int,
    metrics: dict[str, float],
    loop_state: dict[str, Any] | None = None,
    optimiser: torch.optim.Optimizer | None = None,
    threshold: float = 0.5,
) -> Path:
    """Write atomically; `train_config` is `TrainConfig.to_dict()` (model config inside)."""
    payload = {
        "format": FORMAT,
        "model_config": train_config["model"],
        "train_config": train_config,
        "state_dict": unwrap(model).state_dict(),
        "normaliser": {"kind": "percentile", "percentiles": [0.5, 99.5]},
        "epoch": int(epoch),
        "metrics": {k: float(v) for k, v in metrics.items()},
        "threshold": float(threshold),
        "loop_state": loop_state or {},
        "optimiser": optimiser.state_dict() if optimiser is not None else {},
    }
    return _write_payload(payload, Path(path))


def _write_payload(payload: dict[str, Any], path: Path) -> Path:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    with atomic_target(path, overwrite=True) as tmp:
        tmp.write_bytes(buffer.getvalue())
    return path


@dataclass
class LoadedCheckpoint:
    model: nn.Module
    payload: dict[str, Any]

    @property
    def threshold(self) -> float:
        return float(self.payload.get("threshold", 0.5))

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self.payload.get("metrics", {}))

    @property
    def info(self) -> CheckpointInfo:
        return CheckpointInfo.from_payload(self.payload)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: checkpoint not found; expected a .pt file written by porelab train")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for a damaged or foreign file
        raise ConfigError(f"{path}: not a readable checkpoint ({type(err).__name__}: {err})") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ConfigError(
            f"{path}: format {payload.get('format') if isinstance(payload, dict) else None!r}; expected {FORMAT!r}"
        )
    return payload


def store_operating_point(path: str | Path, operating_point: dict[str, Any], calibration: dict[str, Any]) -> Path:
    """Rewrite the checkpoint at `path` (atomically) with its calibrated operating point
    (`porelab.verdict.OperatingPoint.to_dict()`) and the calibration behind it (scans and the
    table of candidate points, as plain lists)."""
    payload = read_checkpoint(path)
    payload["operating_point"] = dict(operating_point)
    payload["calibration"] = dict(calibration)
    payload["threshold"] = float(operating_point["threshold"])
    return _write_payload(payload, Path(path))


def save_weights_only(source: str | Path, target: str | Path) -> Path:
    """A copy of the checkpoint at `source` for inference only: without the optimiser's state
    and the loop's history (a third of the size), written atomically to `target`."""
    payload = read_checkpoint(source)
    payload["optimiser"] = {}
    payload["loop_state"] = {k: v for k, v in payload.get("loop_state", {}).items() if k != "history"}
    return _write_payload(payload, Path(target))


def load_checkpoint(path: str | Path) -> LoadedCheckpoint:
    """The model (eval mode, CPU) with its weights, and the checkpoint's other fields."""
    payload = read_checkpoint(path)
    model = build_model(ModelConfig.from_dict(payload["model_config"]))
    model.load_state_dict(payload["state_dict"])
    return LoadedCheckpoint(model.eval(), payload)
