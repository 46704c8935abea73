"""UNet++ (Zhou et al.): nested, densely connected skip pathways, as used by Iuso et al."""

from __future__ import annotations

import torch
from torch import nn

from porelab.models.base import Segmenter, block_options
from porelab.models.blocks import ConvBlock, OutputHead, Up
from porelab.models.config import ModelConfig
from porelab.models.encoder import Encoder
from porelab.models.catalogue import register_model


def _key(level: int, column: int) -> str:
    return f"{level}_{column}"


@register_model(
    "unetpp",
    summary="UNet++ with nested dense skips (Iuso et al.)",
    dims=(2, 3),
    deep_supervision=True,
    reference_parameters=1_500_000,
    reference_source="Iuso et al. code, 3D, channels 16/32/64/128",
    reference_dims=3,
)
class UNetPlusPlus(Segmenter):
    """Node X(i, j) (level i, column j >= 1) is a `ConvBlock` over the concatenation of
    X(i, 0..j-1) and the up-sampled X(i+1, j-1); column 0 is the encoder.

    Heads sit on X(0, 1) ... X(0, depth) (X0,1..X0,4 with five levels); the main head is
    X(0, depth) and comes first, then X(0, depth-1) ... X(0, 1). Without deep supervision
    only the main head exists.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, size_multiple=2**config.depth)
        channels, depth, dims = config.channels, config.depth, config.spatial_dims
        self.encoder = Encoder(config)
        self.ups = nn.ModuleDict()
        self.nodes = nn.ModuleDict()
        for column in range(1, depth + 1):
            for level in range(depth + 1 - column):
                self.ups[_key(level, column)] = Up(channels[level + 1], channels[level], dims=dims, mode=config.up_mode)
                self.nodes[_key(level, column)] = ConvBlock(
                    (column + 1) * channels[level], channels[level], **block_options(config)
                )
        columns = range(depth, 0, -1) if config.deep_supervision else (depth,)
        self.head_columns = tuple(columns)
        self.heads = nn.ModuleList(OutputHead(channels[0], config.out_channels, dims=dims) for _ in self.head_columns)

    def _heads(self, x: torch.Tensor) -> list[torch.Tensor]:
        grid = [[features] for features in self.encoder(x)]
        for column in range(1, self.config.depth + 1):
            for level in range(self.config.depth + 1 - column):
                key = _key(level, column)
                up = self.ups[key](grid[level + 1][column - 1])
                grid[level].append(self.nodes[key](torch.cat([*grid[level], up], dim=1)))
        return [head(grid[0][column]) for head, column in zip(self.heads, self.head_columns)]
