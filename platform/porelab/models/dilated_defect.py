"""Dilated defect detector (Fuchs et al.): a flat stack of dilated convolutions."""

from __future__ import annotations

import torch
from torch import nn

from porelab.models.base import Segmenter, block_options
from porelab.models.blocks import ConvBlock, OutputHead
from porelab.models.config import ModelConfig
from porelab.models.catalogue import register_model


@register_model(
    "dilated_defect",
    summary="9-layer dilation pyramid, no down-sampling (Fuchs et al.)",
    dims=(2, 3),
    uses=("dilations",),
)
class DilatedDefectDetector(Segmenter):
    """One 3^d convolution layer per entry of `dilations` (default 1, 2, 4, 8, 8, 4, 2, 1),
    `channels[0]` features wide, then a 1x1 head: nine layers. The dilations grow the
    receptive field without any down-sampling, so small pores keep full resolution.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        options = {**block_options(config), "convs": 1}
        width = config.channels[0]
        widths = (config.in_channels, *[width] * len(config.dilations))
        self.layers = nn.Sequential(
            *(ConvBlock(widths[i], widths[i + 1], dilation=d, **options) for i, d in enumerate(config.dilations))
        )
        self.head = OutputHead(width, config.out_channels, dims=config.spatial_dims)

    def _heads(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.head(self.layers(x))]
