"""What a model kind contributes to the one training loop: its loss on a batch and its score map.

The loop (`porelab.train.loop`) is written once; a `Task` says how a batch becomes a loss
and how a model's output becomes a voxel-wise score in [0, inf) that validation turns into
Dice and AP against the pore labels. Batches are dicts of tensors:

    "image": (B, 1, *patch) float32, normalised grey values
    "label": (B, 1, *patch) float32, 1 inside pores, 0 elsewhere

Register a task with `@register_task("name")`; `task_for_model(name)` picks the task a
registered model trains with (segmenters: "segmentation").
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

import torch
from torch import nn

from porelab.errors import ConfigError

Batch = dict[str, torch.Tensor]


class Task(Protocol):
    """A model kind's part of the training loop."""

    def loss(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """The scalar loss to minimise and named parts of it to log (floats)."""
        ...

    def score(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """Voxel-wise pore score (B, 1, *patch), higher = more likely a pore (eval mode, no grad)."""
        ...


_TASKS: dict[str, Callable[..., Task]] = {}
_MODEL_TASKS: dict[str, str] = {}


def register_task(name: str, *, models: tuple[str, ...] = ()) -> Callable[[Callable[..., Task]], Callable[..., Task]]:
    """Class decorator: a task under `name`, used by default for the registry models in `models`."""

    def decorate(cls: Callable[..., Task]) -> Callable[..., Task]:
        _TASKS[name] = cls
        for model in models:
            _MODEL_TASKS[model] = name
        return cls

    return decorate


def task_names() -> tuple[str, ...]:
    return tuple(_TASKS)


def task_for_model(model_name: str) -> str:
    return _MODEL_TASKS.get(model_name, "segmentation")


def build_task(name: str, **options: Any) -> Task:
    if name not in _TASKS:
        raise ConfigError(f"task {name!r} is unknown; expected one of {', '.join(_TASKS)}")
    return _TASKS[name](**options)


@register_task(
    "segmentation",
    models=("unet", "unetpp", "unet3plus", "mss_unet", "modular_unet", "slicewise", "deep_defect", "dilated_defect"),
)
class SegmentationTask:
    """Supervised segmenters with one logit per voxel, with or without deep-supervision heads."""

    def __init__(self, loss: str = "focal_tversky", deep_supervision: bool = False, **loss_options: Any) -> None:
        from porelab.losses import build_loss

        self.criterion = build_loss(loss, deep_supervision=deep_supervision, **loss_options)
        self.deep_supervision = deep_supervision

    def loss(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        output = model(batch["image"])
        if not self.deep_supervision and isinstance(output, (list, tuple)):
            output = output[0]
        value = self.criterion(output, batch["label"])
        return value, {"loss": float(value.detach())}

    def score(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        output = model(batch["image"])
        output = output[0] if isinstance(output, (list, tuple)) else output
        return torch.sigmoid(output[:, :1]) if output.shape[1] == 1 else torch.softmax(output, 1)[:, 1:2]
