"""The supervised baseline of Lindgren & Zach: the patch classifier of the model zoo trained
on accepted patches (0) against the same patches with a real defect pasted in (1), or, where
labelled defect patches exist (real casting radiographs), against those."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from porelab.errors import ConfigError
from porelab.models import build_model
from porelab.ood.defects import paste
from porelab.train.loop import LoopConfig, run_training
from porelab.tasks import Batch, register_task


@register_task("defect_patch_classification")
class DefectPatchTask:
    """Binary cross-entropy on one logit per patch; batch "target" (B,) holds 0 / 1. The
    score broadcasts the patch probability over the patch (the loop's voxel metrics)."""

    def loss(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        value = F.binary_cross_entropy_with_logits(model(batch["image"])[:, 0], batch["target"])
        return value, {"loss": float(value.detach())}

    def score(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        probability = torch.sigmoid(model(batch["image"])[:, :1])
        return probability.view(-1, 1, *[1] * (batch["image"].ndim - 2)).expand_as(batch["image"])


@dataclass(frozen=True)
class ClassifierConfig:
    """Training length and a small classifier. Batch norm: without it the classifier on raw
    radiograph grey values (about 0.5 +- 0.05) collapsed to a constant output here."""

    epochs: int = 3
    steps_per_epoch: int = 100
    batch_size: int = 16
    lr: float = 1e-3
    target_fpr: float = 1e-3
    seed: int = 0
    model: dict[str, Any] = field(
        default_factory=lambda: {"channels": (8, 12, 16, 16), "hidden": (32,), "norm": "batch", "dropout": 0.0}
    )


@dataclass
class DefectClassifier:
    model: nn.Module
    threshold: float  # probability above which a patch is flagged (target FPR on training data)

    @torch.no_grad()
    def probabilities(self, patches: np.ndarray, batch_size: int = 128) -> np.ndarray:
        self.model.eval()
        tensor = torch.from_numpy(np.asarray(patches, dtype=np.float32)[:, None])
        return torch.cat([torch.sigmoid(self.model(c)[:, 0]) for c in tensor.split(batch_size)]).numpy()

    def flags(self, patches: np.ndarray) -> np.ndarray:
        return self.probabilities(patches) > self.threshold


DefectSource = Callable[[np.ndarray, np.random.Generator], np.ndarray]  # (accepted patch, rng) -> defect patch


def _batch(accepted: np.ndarray, defect: DefectSource, size: int, rng: np.random.Generator) -> Batch:
    chosen = accepted[rng.integers(0, len(accepted), size=size)].copy()
    target = (rng.random(size) < 0.5).astype(np.float32)
    for i in np.flatnonzero(target):
        chosen[i] = defect(chosen[i], rng)
    image = torch.from_numpy(chosen[:, None])
    return {"image": image, "label": torch.zeros_like(image), "target": torch.from_numpy(target)}


def train_defect_classifier(
    accepted: np.ndarray, cutouts: list[np.ndarray], config: ClassifierConfig = ClassifierConfig()
) -> DefectClassifier:
    """Train on half accepted, half defect patches (a cut-out pasted into an accepted one);
    threshold at `target_fpr` on `accepted`."""
    if len(accepted) < 2 or not cutouts:
        raise ConfigError("train_defect_classifier: needs at least 2 accepted patches and one cut-out")

    def pasted(patch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return paste(patch, cutouts[int(rng.integers(len(cutouts)))], rng)[0]

    return _train(accepted, pasted, config)


def train_labelled_classifier(
    accepted: np.ndarray, defects: np.ndarray, config: ClassifierConfig = ClassifierConfig()
) -> DefectClassifier:
    """Train on half accepted, half labelled defect patches of the same size; threshold at
    `target_fpr` on `accepted`."""
    defects = np.asarray(defects, dtype=np.float32)
    if len(accepted) < 2 or len(defects) < 1 or defects.shape[1:] != accepted.shape[1:]:
        raise ConfigError(
            f"train_labelled_classifier: needs at least 2 accepted and 1 defect patch of one size, "
            f"got {np.shape(accepted)} and {defects.shape}"
        )
    return _train(accepted, lambda _patch, rng: defects[int(rng.integers(len(defects)))], config)


def _train(accepted: np.ndarray, defect: DefectSource, config: ClassifierConfig) -> DefectClassifier:
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = build_model("patch_classifier", **config.model)
    validation = [_batch(accepted, defect, config.batch_size, np.random.default_rng(config.seed + 1))]

    def batches(_epoch: int) -> Iterator[Batch]:
        for _ in range(config.steps_per_epoch):
            yield _batch(accepted, defect, config.batch_size, rng)

    loop = LoopConfig(
        max_epochs=config.epochs, lr=config.lr, patience=config.epochs, steps_per_epoch=config.steps_per_epoch
    )
    run_training(model, DefectPatchTask(), batches, lambda _epoch: validation, loop)
    classifier = DefectClassifier(model.eval(), 0.0)
    scores = classifier.probabilities(accepted)
    classifier.threshold = float(np.quantile(scores, 1.0 - config.target_fpr, method="higher"))
    return classifier
