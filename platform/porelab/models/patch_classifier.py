"""Supervised patch classifier (Lindgren & Zach): is there a defect in this patch?"""

from __future__ import annotations

import torch
from torch import nn

from porelab.models.base import ModelInputError, block_options
from porelab.models.blocks import ConvBlock, Down
from porelab.models.config import ModelConfig
from porelab.models.padding import pad_to_multiple
from porelab.models.catalogue import register_model

# Lindgren & Zach classify 128 px patches: four poolings leave an 8 x 8 grid.
POOLED_SIZE = 8


@register_model(
    "patch_classifier",
    summary="CNN patch classifier, about 220k parameters (Lindgren & Zach)",
    dims=(2, 3),
    uses=("hidden",),
    defaults={"spatial_dims": 2, "channels": (24, 30, 34, 40), "norm": "none", "dropout": 0.1},
    reference_parameters=220_000,
    reference_source="Lindgren & Zach, 2D: about 220k",
    reference_dims=2,
)
class PatchClassifier(nn.Module):
    """Per `channels` entry a block of two (convolution, activation, dropout) and a 2x
    max pooling; then an adaptive max pooling to a `POOLED_SIZE`^d grid, so any patch
    size works (128 px patches are pooled exactly), dense layers `hidden` (60, 50) and
    `out_channels` logits per patch: one (binary, sigmoid) or C (softmax).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        dims = config.spatial_dims
        widths = (config.in_channels, *config.channels)
        layers: list[nn.Module] = []
        for i in range(len(config.channels)):
            layers.append(ConvBlock(widths[i], widths[i + 1], **block_options(config)))
            layers.append(Down(widths[i + 1], dims=dims, mode=config.down_mode))
        pool = nn.AdaptiveMaxPool2d if dims == 2 else nn.AdaptiveMaxPool3d
        layers += [pool(POOLED_SIZE), nn.Flatten()]
        features = config.channels[-1] * POOLED_SIZE**dims
        for width in config.hidden:
            layers += [nn.Linear(features, width), nn.ReLU(inplace=True)]
            features = width
        layers.append(nn.Linear(features, config.out_channels))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = self.config.spatial_dims + 2
        if x.ndim != expected or x.shape[1] != self.config.in_channels:
            raise ModelInputError(
                f"model {self.config.name!r}: input must be (N, {self.config.in_channels} "
                f"channel(s), {self.config.spatial_dims} spatial axes), got shape {tuple(x.shape)}"
            )
        return self.net(pad_to_multiple(x, 2 ** len(self.config.channels)))
