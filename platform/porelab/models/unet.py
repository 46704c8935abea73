"""U-Net (Ronneberger et al.), 2D or 3D, as used by Iuso et al. and Fuchs et al."""

from __future__ import annotations

import torch
from torch import nn

from porelab.models.base import Segmenter, block_options
from porelab.models.blocks import ConvBlock, OutputHead, Up
from porelab.models.config import ModelConfig
from porelab.models.encoder import Encoder
from porelab.models.catalogue import register_model


class UNetDecoder(nn.Module):
    """Expanding path: at each level up-sample, concatenate the skip, `ConvBlock`.

    Returns the decoder features of every level, finest first (level 0 at full size).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        channels = config.channels
        options = block_options(config)
        self.ups = nn.ModuleList(
            Up(channels[i + 1], channels[i], dims=config.spatial_dims, mode=config.up_mode) for i in range(config.depth)
        )
        self.blocks = nn.ModuleList(ConvBlock(2 * channels[i], channels[i], **options) for i in range(config.depth))

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        x = features[-1]
        outputs: list[torch.Tensor] = []
        for level in reversed(range(len(self.blocks))):
            x = self.blocks[level](torch.cat([features[level], self.ups[level](x)], dim=1))
            outputs.append(x)
        return outputs[::-1]


@register_model(
    "unet",
    summary="U-Net (Iuso et al.; Fuchs et al.)",
    dims=(2, 3),
    reference_parameters=1_330_000,
    reference_source="Iuso et al. code, 3D, channels 16/32/64/128",
    reference_dims=3,
)
class UNet(Segmenter):
    """Encoder, decoder with skip connections, one 1x1 head at full resolution."""

    def __init__(self, config: ModelConfig, in_channels: int | None = None) -> None:
        super().__init__(config, size_multiple=2**config.depth)
        self.encoder = Encoder(config, in_channels)
        self.decoder = UNetDecoder(config)
        self.head = OutputHead(config.channels[0], config.out_channels, dims=config.spatial_dims)

    def _heads(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.head(self.decoder(self.encoder(x))[0])]
