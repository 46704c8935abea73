"""MSS-UNet: a U-Net with multi-scale supervision (Iuso et al.)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from porelab.models.base import Segmenter
from porelab.models.blocks import OutputHead
from porelab.models.config import ModelConfig
from porelab.models.encoder import Encoder
from porelab.models.layers import linear_interpolation_mode
from porelab.models.catalogue import register_model
from porelab.models.unet import UNetDecoder


@register_model(
    "mss_unet",
    summary="U-Net with multi-scale supervision heads (Iuso et al.)",
    dims=(2, 3),
    deep_supervision=True,
    reference_parameters=1_330_000,
    reference_source="Iuso et al. code, 3D, channels 16/32/64/128",
    reference_dims=3,
)
class MSSUNet(Segmenter):
    """The U-Net with a 1x1 head on every decoder level, each up-sampled to full size.

    Heads: level 0 (main), level 1, ..., level depth-1. Without deep supervision only
    the main head exists and the model is a U-Net.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, size_multiple=2**config.depth)
        self.encoder = Encoder(config)
        self.decoder = UNetDecoder(config)
        levels = config.depth if config.deep_supervision else 1
        self.heads = nn.ModuleList(
            OutputHead(config.channels[i], config.out_channels, dims=config.spatial_dims) for i in range(levels)
        )
        self.interpolation = linear_interpolation_mode(config.spatial_dims)

    def _heads(self, x: torch.Tensor) -> list[torch.Tensor]:
        decoded = self.decoder(self.encoder(x))
        size = x.shape[2:]
        return [self._full_size(head(features), size) for head, features in zip(self.heads, decoded)]

    def _full_size(self, logits: torch.Tensor, size: torch.Size) -> torch.Tensor:
        if logits.shape[2:] == size:
            return logits
        return F.interpolate(logits, size=size, mode=self.interpolation, align_corners=False)
