"""Slice-wise defect detector (Fuchs et al.): a 2D U-Net run along z, y and x."""

from __future__ import annotations

import torch

from porelab.models.base import Segmenter
from porelab.models.config import ModelConfig
from porelab.models.catalogue import register_model
from porelab.models.unet import UNet


@register_model("slicewise", summary="2D U-Net along z, y, x, voxel-wise max (Fuchs et al.)", dims=(3,))
class SliceWiseDetector(Segmenter):
    """One 2D U-Net (shared weights) segments every slice along each of the three axes;
    the three logit volumes are combined by a voxel-wise maximum.

    The maximum of logits equals the maximum of sigmoid probabilities (the sigmoid is
    increasing), so a voxel is a defect when any direction calls it one.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.slice_net = UNet(config.replace(name="unet", spatial_dims=2))

    def _heads(self, x: torch.Tensor) -> list[torch.Tensor]:
        per_axis = [self._along_axis(x, axis) for axis in (2, 3, 4)]
        return [torch.stack(per_axis).amax(dim=0)]

    def _along_axis(self, volume: torch.Tensor, axis: int) -> torch.Tensor:
        """Segment the slices perpendicular to `axis` (2, 3 or 4 of (N, C, Z, Y, X))."""
        moved = volume.movedim(axis, 1)  # (N, S, C, A, B): slices next to the batch
        n, s = moved.shape[:2]
        logits = self.slice_net(moved.reshape(n * s, *moved.shape[2:]))
        return logits.reshape(n, s, *logits.shape[1:]).movedim(1, axis)
