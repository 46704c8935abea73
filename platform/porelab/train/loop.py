"""The one training loop: epochs of optimiser steps, validation, early stopping.

It knows nothing of Ray: batches come from callables (a Ray Data shard, a list, a
generator), and each finished epoch goes to `on_epoch_end`, which the Ray Train function
uses to report metrics and checkpoints. Anything a resumed run needs (epoch, optimiser,
early-stopping counters) lives in `LoopState`.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import torch
from torch import nn

from porelab.errors import ConfigError
from porelab.evaluate.ranking import average_precision
from porelab.metrics import record_epoch
from porelab.models.layout import fast_layout, input_layout
from porelab.tasks import Batch, Task

BatchSource = Callable[[int], Iterable[Batch]]  # epoch -> batches
LR_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class LoopConfig:
    """Optimisation and stopping. Defaults follow Iuso et al.: Adam 1e-4, patience 40, min_delta 1e-4.

    lr_schedule: "constant", or "cosine": the learning rate falls from `lr` to
    `final_lr_fraction` x `lr` over `max_epochs` along half a cosine (one value per epoch, a
    function of the epoch alone, so a resumed run continues on the same curve).
    """

    max_epochs: int = 40
    lr: float = 1e-4
    patience: int = 40
    min_delta: float = 1e-4
    steps_per_epoch: int | None = None
    threshold: float = 0.5
    lr_schedule: str = "constant"
    final_lr_fraction: float = 0.01

    def __post_init__(self) -> None:
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"loop.lr_schedule = {self.lr_schedule!r}; expected one of {list(LR_SCHEDULES)}")
        if not 0.0 <= self.final_lr_fraction <= 1.0:
            raise ConfigError(f"loop.final_lr_fraction = {self.final_lr_fraction}; expected a fraction in [0, 1]")


def epoch_lr(config: LoopConfig, epoch: int) -> float:
    """The learning rate of epoch `epoch` (0-based) under the config's schedule."""
    if config.lr_schedule == "constant":
        return config.lr
    progress = min(epoch / max(config.max_epochs - 1, 1), 1.0)
    fraction = config.final_lr_fraction + (1 - config.final_lr_fraction) * 0.5 * (1 + math.cos(math.pi * progress))
    return config.lr * fraction


@dataclass
class LoopState:
    """Where a run stands; saved in every checkpoint so a resumed run continues exactly."""

    epoch: int = 0  # epochs completed
    best_val_loss: float = math.inf
    best_epoch: int = -1
    epochs_without_improvement: int = 0
    history: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LoopState":
        return cls(**data)


@dataclass(frozen=True)
class EpochResult:
    epoch: int
    metrics: dict[str, float]
    is_best: bool
    stop: bool


def _train_epoch(
    model: nn.Module,
    task: Task,
    batches: Iterable[Batch],
    optimiser: torch.optim.Optimizer,
    steps: int | None,
    device: torch.device,
) -> dict[str, float]:
    model.train()
    totals: dict[str, float] = {}
    count, patches, waited, start = 0, 0, 0.0, time.perf_counter()
    source = iter(batches)
    while True:
        asked = time.perf_counter()
        batch = next(source, None)
        waited += time.perf_counter() - asked
        if batch is None:
            break
        batch = {k: input_layout(v.to(device), model) for k, v in batch.items()}
        optimiser.zero_grad(set_to_none=True)
        loss, logs = task.loss(model, batch)
        loss.backward()
        optimiser.step()
        for key, value in logs.items():
            totals[key] = totals.get(key, 0.0) + value
        count += 1
        patches += int(batch["image"].shape[0])
        if steps is not None and count >= steps:
            break
    elapsed = time.perf_counter() - start
    means = {f"train_{k}": v / max(count, 1) for k, v in totals.items()}
    return {
        **means,
        "train_patches_per_s": patches / elapsed if elapsed > 0 else 0.0,
        "train_steps": count,
        "data_wait_share": waited / elapsed if elapsed > 0 else 0.0,
    }


def _dice(scores: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    predicted, truth = scores >= threshold, labels > 0
    denominator = predicted.sum() + truth.sum()
    return float(2 * np.logical_and(predicted, truth).sum() / denominator) if denominator else 1.0


@torch.no_grad()
def evaluate(
    model: nn.Module, task: Task, batches: Iterable[Batch], device: torch.device, threshold: float = 0.5
) -> dict[str, float]:
    """Validation loss, Dice at `threshold` and voxel AP over all batches."""
    model.eval()
    losses, scores, labels = [], [], []
    for batch in batches:
        batch = {k: input_layout(v.to(device), model) for k, v in batch.items()}
        loss, _ = task.loss(model, batch)
        losses.append(float(loss))
        scores.append(task.score(model, batch).float().cpu().numpy().ravel())
        labels.append(batch["label"].cpu().numpy().ravel())
    if not losses:
        return {}
    all_scores, all_labels = np.concatenate(scores), np.concatenate(labels)
    return {
        "val_loss": float(np.mean(losses)),
        "val_dice": _dice(all_scores, all_labels, threshold),
        "val_ap": average_precision(all_scores, all_labels),
    }


def _advance(state: LoopState, metrics: dict[str, float], config: LoopConfig) -> tuple[bool, bool]:
    """Update early-stopping counters; (is_best, stop)."""
    val_loss = metrics.get("val_loss", metrics.get("train_loss", math.inf))
    is_best = val_loss < state.best_val_loss - config.min_delta
    if is_best:
        state.best_val_loss, state.best_epoch, state.epochs_without_improvement = val_loss, state.epoch, 0
    else:
        state.epochs_without_improvement += 1
    state.epoch += 1
    state.history.append({"epoch": state.epoch, **metrics})
    stop = state.epoch >= config.max_epochs or state.epochs_without_improvement >= config.patience
    return is_best, stop


def run_training(
    model: nn.Module,
    task: Task,
    train_batches: BatchSource,
    val_batches: BatchSource,
    config: LoopConfig,
    *,
    optimiser: torch.optim.Optimizer | None = None,
    state: LoopState | None = None,
    device: torch.device | str = "cpu",
    on_epoch_end: Callable[[EpochResult, LoopState, torch.optim.Optimizer], None] | None = None,
    metric_tags: dict[str, str] | None = None,
) -> LoopState:
    """Train until `max_epochs` or early stopping; returns the final state (history included).
    With `metric_tags` ({"model", "run"}) each epoch's numbers also go to porelab's metrics
    (`porelab.metrics.record_epoch`)."""
    device = torch.device(device)
    model = fast_layout(model, device)  # in place: an optimiser built on its parameters keeps them
    optimiser = optimiser or torch.optim.Adam(model.parameters(), lr=config.lr)
    state = state or LoopState()
    stop = state.epoch >= config.max_epochs
    while not stop:
        start = time.perf_counter()
        if config.lr_schedule != "constant":
            for group in optimiser.param_groups:
                group["lr"] = epoch_lr(config, state.epoch)
        metrics = _train_epoch(model, task, train_batches(state.epoch), optimiser, config.steps_per_epoch, device)
        metrics.update(evaluate(model, task, val_batches(state.epoch), device, config.threshold))
        metrics["epoch_seconds"] = time.perf_counter() - start
        is_best, stop = _advance(state, metrics, config)
        if metric_tags is not None:
            record_epoch(metrics, **metric_tags)
        if on_epoch_end is not None:
            on_epoch_end(EpochResult(state.epoch, metrics, is_best, stop), state, optimiser)
    return state
