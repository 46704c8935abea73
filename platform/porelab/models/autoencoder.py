"""The encoder and decoder every autoencoder shares (VAE family, vqVAE, OOD autoencoder).

Built from the shared blocks: each encoder level is a `ConvBlock` followed by a stride-2
`Down`, each decoder level an `Up` followed by a `ConvBlock`, with no skip connections
(a skip would let anomalies through to the reconstruction).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from porelab.errors import ConfigError
from porelab.models.base import ModelInputError, block_options
from porelab.models.blocks import ConvBlock, Down, OutputHead, Up
from porelab.models.config import ModelConfig


class ConvEncoder(nn.Module):
    """Per entry of `config.channels`: `ConvBlock` then a 2x `Down`.

    The output has `channels[-1]` channels at 1 / 2^len(channels) of the input size.
    """

    def __init__(self, config: ModelConfig, in_channels: int | None = None) -> None:
        super().__init__()
        widths = (in_channels or config.in_channels, *config.channels)
        stages: list[nn.Module] = []
        for i, width in enumerate(config.channels):
            stages.append(ConvBlock(widths[i], width, **block_options(config)))
            stages.append(Down(width, dims=config.spatial_dims, mode=config.down_mode))
        self.stages = nn.Sequential(*stages)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(x)


class ConvDecoder(nn.Module):
    """Mirror of `ConvEncoder`: per level `Up` then `ConvBlock`, then a 1x1 output head.

    `in_channels` is the width of the code it decodes (default `channels[-1]`).
    """

    def __init__(self, config: ModelConfig, in_channels: int | None = None) -> None:
        super().__init__()
        dims = config.spatial_dims
        widths = (*config.channels[::-1], config.channels[0])
        widths = (in_channels or widths[0], *widths[1:])
        stages: list[nn.Module] = []
        for i in range(len(config.channels)):
            stages.append(Up(widths[i], widths[i + 1], dims=dims, mode=config.up_mode))
            stages.append(ConvBlock(widths[i + 1], widths[i + 1], **block_options(config)))
        self.stages = nn.Sequential(*stages)
        self.head = OutputHead(widths[-1], config.out_channels, dims=dims)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(code))


def bottleneck_edge(config: ModelConfig) -> int:
    """Edge of the encoder's output for a `config.patch_size` input; refuses sizes the
    stride-2 levels cannot halve exactly."""
    stride = 2 ** len(config.channels)
    if config.patch_size % stride:
        raise ConfigError(
            f"model {config.name!r}: patch_size must be a multiple of 2^levels = "
            f"{stride} (channels={config.channels}), got {config.patch_size}"
        )
    return config.patch_size // stride


def check_patch(config: ModelConfig, x: torch.Tensor) -> None:
    """Models with a dense latent take exactly (N, in_channels, patch_size, ...)."""
    expected = (config.in_channels, *[config.patch_size] * config.spatial_dims)
    if x.ndim != config.spatial_dims + 2 or tuple(x.shape[1:]) != expected:
        raise ModelInputError(
            f"model {config.name!r}: input must be (N, {', '.join(map(str, expected))})"
            f" (patch_size={config.patch_size}), got shape {tuple(x.shape)}"
        )


def check_any_size(config: ModelConfig, x: torch.Tensor) -> None:
    """Fully convolutional models take (N, in_channels, *any spatial size)."""
    if x.ndim != config.spatial_dims + 2 or x.shape[1] != config.in_channels:
        raise ModelInputError(
            f"model {config.name!r}: input must be (N, {config.in_channels}, "
            f"{config.spatial_dims} spatial axes), got shape {tuple(x.shape)}"
        )


def flat_size(channels: int, edge: int, dims: int) -> int:
    return channels * int(math.pow(edge, dims))
