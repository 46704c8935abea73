"""UNet 3+ (Huang et al.): full-scale skip connections, as used by Iuso et al."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from porelab.models.base import Segmenter, block_options
from porelab.models.blocks import ConvBlock, Down, OutputHead
from porelab.models.config import ModelConfig
from porelab.models.encoder import Encoder
from porelab.models.layers import linear_interpolation_mode
from porelab.models.catalogue import register_model


class _FullScaleStage(nn.Module):
    """One decoder stage at `level`: every encoder level at or above it (max-pooled down)
    and every deeper decoder stage (interpolated up) goes through a one-convolution
    block to `skip_channels`; the concatenation is fused by another one-convolution block.

    The skips are resampled rigidly (max pooling, linear interpolation) as in Huang et
    al.: a learnable resampler by 2^k would cost k^3-times-larger kernels.
    """

    def __init__(self, config: ModelConfig, level: int, source_channels: list[int]) -> None:
        super().__init__()
        options = {**block_options(config), "convs": 1}
        skip = config.channels[0]
        self.level = level
        self.downs = nn.ModuleList(
            Down(source_channels[j], dims=config.spatial_dims, mode="maxpool", factor=2 ** (level - j))
            for j in range(level)
        )
        self.adapters = nn.ModuleList(ConvBlock(c, skip, **options) for c in source_channels)
        self.fuse = ConvBlock(skip * len(source_channels), skip * len(source_channels), **options)
        self.interpolation = linear_interpolation_mode(config.spatial_dims)

    def forward(self, sources: list[torch.Tensor]) -> torch.Tensor:
        target = sources[self.level].shape[2:]
        parts = []
        for j, (source, adapter) in enumerate(zip(sources, self.adapters)):
            if j < self.level:
                source = self.downs[j](source)
            elif j > self.level:
                source = F.interpolate(source, size=target, mode=self.interpolation, align_corners=False)
            parts.append(adapter(source))
        return self.fuse(torch.cat(parts, dim=1))


@register_model(
    "unet3plus",
    summary="UNet 3+ with full-scale skips (Iuso et al.)",
    dims=(2, 3),
    deep_supervision=True,
    reference_parameters=1_670_000,
    reference_source="Iuso et al. code, 3D, channels 16/32/64/128",
    reference_dims=3,
)
class UNet3Plus(Segmenter):
    """Encoder as the U-Net; decoder stage i combines all scales (see `_FullScaleStage`).

    `down_mode` sets the encoder's down-sampling; `up_mode` does not apply (the skips are
    interpolated). Heads: one per decoder stage, up-sampled to full size; stage 0 (main)
    first, then stages 1 ... depth-1.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config, size_multiple=2**config.depth)
        depth, dims = config.depth, config.spatial_dims
        stage_channels = config.channels[0] * (depth + 1)
        self.encoder = Encoder(config)
        self.stages = nn.ModuleList()
        for level in range(depth):
            sources = [*config.channels[: level + 1], *[stage_channels] * (depth - level - 1), config.channels[-1]]
            self.stages.append(_FullScaleStage(config, level, sources))
        levels = depth if config.deep_supervision else 1
        self.heads = nn.ModuleList(OutputHead(stage_channels, config.out_channels, dims=dims) for _ in range(levels))
        self.interpolation = linear_interpolation_mode(dims)

    def _heads(self, x: torch.Tensor) -> list[torch.Tensor]:
        encoded = self.encoder(x)
        decoded: list[torch.Tensor] = [encoded[-1]]
        for level in reversed(range(self.config.depth)):
            decoded.insert(0, self.stages[level]([*encoded[: level + 1], *decoded]))
        size = x.shape[2:]
        outputs = []
        for head, features in zip(self.heads, decoded):
            logits = head(features)
            if logits.shape[2:] != size:
                logits = F.interpolate(logits, size=size, mode=self.interpolation, align_corners=False)
            outputs.append(logits)
        return outputs
