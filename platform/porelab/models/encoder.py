"""The contracting path every U-Net variant shares."""

from __future__ import annotations

import torch
from torch import nn

from porelab.models.base import block_options
from porelab.models.blocks import ConvBlock, Down
from porelab.models.config import ModelConfig


class Encoder(nn.Module):
    """`ConvBlock` per level with a `Down` between levels; returns every level's features.

    Level i has `config.channels[i]` channels at 1 / 2^i of the input size.
    """

    def __init__(self, config: ModelConfig, in_channels: int | None = None) -> None:
        super().__init__()
        options = block_options(config)
        widths = (in_channels or config.in_channels, *config.channels)
        self.blocks = nn.ModuleList(ConvBlock(widths[i], widths[i + 1], **options) for i in range(len(config.channels)))
        self.downs = nn.ModuleList(
            Down(c, dims=config.spatial_dims, mode=config.down_mode) for c in config.channels[:-1]
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = [self.blocks[0](x)]
        for down, block in zip(self.downs, self.blocks[1:]):
            features.append(block(down(features[-1])))
        return features
