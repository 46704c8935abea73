"""Training an OOD detector on accepted patches with the one training loop, then setting its
residual thresholds on the same accepted patches.

Perturbations ("none", "real", "natural") are the three training variants of Lindgren &
Zach's Table 2: no perturbation (plain autoencoder), real defect cut-outs, natural-image
indications.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import torch

from porelab.errors import ConfigError
from porelab.models import build_model
from porelab.ood.defects import paste
from porelab.ood.detector import OODDetector, autoencoder_residuals, standardised
from porelab.ood.loss import OODAutoencoderTask
from porelab.ood.natural import NaturalIndicationConfig, natural_indication
from porelab.ood.residual import KERNEL, fit_thresholds
from porelab.train.loop import LoopConfig, run_training
from porelab.tasks import Batch

PERTURBATIONS = ("none", "real", "natural")


@dataclass(frozen=True)
class OODTrainingConfig:
    """perturbation: one of PERTURBATIONS; perturbed_share: fraction of a batch perturbed;
    model: overrides of the "ood_autoencoder" config (channels, latent_dim, spatial_dims...);
    standardise: the autoencoder sees (x - mean) / std of the accepted patches. Radiograph
    grey values (about 0.37 +- 0.024 here) left raw made the autoencoder learn the offset
    and scale first: after 300 steps its residual (rms 0.042) was four times the grain noise
    and hid every indication."""

    perturbation: str = "natural"
    epochs: int = 6  # 6 x 200 steps: jobs/ood_welds.py measured (docs/ood.md)
    steps_per_epoch: int = 200
    batch_size: int = 16
    lr: float = 1e-3
    perturbed_share: float = 1.0
    kernel: int = KERNEL
    target_fpr: float = 1e-3
    seed: int = 0
    standardise: bool = True
    model: dict[str, Any] = field(default_factory=dict)
    natural: NaturalIndicationConfig = NaturalIndicationConfig()

    def __post_init__(self) -> None:
        if self.perturbation not in PERTURBATIONS:
            raise ConfigError(
                f"OODTrainingConfig.perturbation must be one of {PERTURBATIONS}, got {self.perturbation!r}"
            )
        if min(self.epochs, self.steps_per_epoch, self.batch_size) < 1:
            raise ConfigError("OODTrainingConfig: epochs, steps_per_epoch and batch_size must be >= 1")


def perturb(
    patch: np.ndarray, config: OODTrainingConfig, rng: np.random.Generator, cutouts: list[np.ndarray] | None
) -> tuple[np.ndarray, np.ndarray]:
    """(perturbed patch, perturbation mask) for one 2D accepted patch."""
    if config.perturbation == "real":
        if not cutouts:
            raise ConfigError("OOD training with perturbation 'real' needs defect cut-outs")
        return paste(patch, cutouts[int(rng.integers(len(cutouts)))], rng)
    indication = natural_indication(patch.shape, rng, config.natural)
    return patch + indication, indication > 0.1 * indication.max()


def training_batch(
    patches: np.ndarray,
    config: OODTrainingConfig,
    rng: np.random.Generator,
    cutouts: list[np.ndarray] | None = None,
    offset: float = 0.0,
    gain: float = 1.0,
) -> Batch:
    """A batch of `config.batch_size` accepted patches (with perturbed copies unless "none"),
    perturbed in grey values, then standardised as (x - offset) * gain."""
    chosen = patches[rng.integers(0, len(patches), size=config.batch_size)]

    def tensor(images: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(standardised(images[:, None], offset, gain).astype(np.float32))

    batch = {"image": tensor(chosen)}
    labels = np.zeros_like(chosen, dtype=np.float32)
    if config.perturbation != "none":
        perturbed = chosen.copy()
        for i in np.flatnonzero(rng.random(len(chosen)) < config.perturbed_share):
            perturbed[i], labels[i] = perturb(chosen[i], config, rng, cutouts)
        batch["perturbed"] = tensor(perturbed)
    batch["label"] = torch.from_numpy(labels[:, None])
    return batch


def train_detector(
    accepted: np.ndarray,
    config: OODTrainingConfig = OODTrainingConfig(),
    cutouts: list[np.ndarray] | None = None,
    calibration: np.ndarray | None = None,
) -> OODDetector:
    """Train the autoencoder on `accepted` patches, then fit the thresholds at `config.target_fpr`
    on all of them, or on `calibration` (accepted patches of the same kind, e.g. some the
    autoencoder never saw) when given. Patches (N, rows, cols) give a 2D detector; (N, z, y, x) a
    3D one, trained with perturbation "none" (the perturbations are 2D images)."""
    accepted = np.asarray(accepted, dtype=np.float32)
    dims = accepted.ndim - 1
    if dims not in (2, 3) or len(accepted) < 2:
        raise ConfigError(
            f"train_detector: accepted must be (N >= 2, rows, cols) or (N >= 2, z, y, x), got {accepted.shape}"
        )
    if dims == 3 and config.perturbation != "none":
        raise ConfigError(
            f"train_detector: 3D patches train with perturbation 'none' (the perturbations are "
            f"2D), got {config.perturbation!r}"
        )
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = build_model("ood_autoencoder", **{"spatial_dims": dims, **config.model})
    task = OODAutoencoderTask(kernel=config.kernel)
    offset, gain = _standardisation(accepted) if config.standardise else (0.0, 1.0)
    validation = [training_batch(accepted, config, np.random.default_rng(config.seed + 1), cutouts, offset, gain)]

    def batches(_epoch: int) -> Iterator[Batch]:
        for _ in range(config.steps_per_epoch):
            yield training_batch(accepted, config, rng, cutouts, offset, gain)

    loop = LoopConfig(
        max_epochs=config.epochs, lr=config.lr, patience=config.epochs, steps_per_epoch=config.steps_per_epoch
    )
    run_training(model, task, batches, lambda _epoch: validation, loop)
    fit_on = accepted if calibration is None else np.asarray(calibration, dtype=np.float32)
    if fit_on.ndim != accepted.ndim:
        raise ConfigError(
            f"train_detector: calibration patches {fit_on.shape} must have the dimensions of the "
            f"accepted ones {accepted.shape}"
        )
    residuals = autoencoder_residuals(model, torch.from_numpy(standardised(fit_on[:, None], offset, gain)))
    return OODDetector(
        model.eval(), model.config, fit_thresholds(residuals, config.target_fpr, config.kernel), offset, gain
    )


def _standardisation(accepted: np.ndarray) -> tuple[float, float]:
    """(mean, 1 / std) of the accepted patches' grey values."""
    std = float(accepted.std())
    if not std > 0:
        raise ConfigError("train_detector: the accepted patches are constant; nothing to standardise by")
    return float(accepted.mean()), 1.0 / std
