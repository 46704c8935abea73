"""What a model kind contributes to the one training loop: its loss on a batch and its score map.

The loop (`porelab.train.loop`) is written once; a `Task` says how a batch becomes a loss
and how a model's output becomes a voxel-wise score in [0, inf) that validation turns into
Dice and AP against the pore labels. Batches are dicts of tensors:

    "image": (B, 1, *patch) float32, normalised grey values
    "label": (B, 1, *patch) float32, 1 inside pores, 0 elsewhere

Register a task with `@register_task("name")`; `task_for_model(name)` picks the task a
registered model trains with (segmenters: "segmentation"). The registry lies below training and
inference: the loop trains with a task, `predict` scores with the one a checkpoint names
(`task_from_config`).
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
    """Class decorator: a task under `name`, used by default for the catalogue models named in `models`."""

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


def task_from_config(train_config: dict[str, Any]) -> Task:
    """The task a training configuration (`TrainConfig.to_dict()`, as a checkpoint stores it)
    names, or its model's default; segmentation tasks follow the model's deep-supervision setting."""
    model = train_config["model"]
    name = train_config.get("task") or task_for_model(model["name"])
    options = dict(train_config.get("task_options") or {})
    if name == "segmentation":
        options.setdefault("deep_supervision", bool(model.get("deep_supervision", False)))
    return build_task(name, **options)
