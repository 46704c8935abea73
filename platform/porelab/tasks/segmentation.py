"""The supervised segmenters' task: a loss on their logits, a sigmoid (or softmax) score."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from porelab.losses import build_loss
from porelab.tasks.catalogue import Batch, register_task


@register_task(
    "segmentation",
    models=("unet", "unetpp", "unet3plus", "mss_unet", "modular_unet", "slicewise", "deep_defect", "dilated_defect"),
)
class SegmentationTask:
    """Supervised segmenters with one logit per voxel, with or without deep-supervision heads."""

    def __init__(self, loss: str = "focal_tversky", deep_supervision: bool = False, **loss_options: Any) -> None:
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
