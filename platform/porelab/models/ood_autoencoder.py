"""The out-of-distribution autoencoder of Lindgren & Zach, for 2D patches and 3D patches.

Two encoder blocks of two convolutions, a latent feature map (whose size the loss keeps
small with a regularisation term), two decoder blocks. Fully convolutional: it takes any
input size, so `porelab.ood.ood_score` can run it on a whole radiograph or volume.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from porelab.models.autoencoder import ConvDecoder, ConvEncoder, check_any_size
from porelab.models.blocks import OutputHead
from porelab.models.config import ModelConfig
from porelab.models.padding import crop_to, pad_to_multiple
from porelab.models.catalogue import register_model


class AutoencoderOutput(NamedTuple):
    """Reconstruction first, so code that takes a model's first output gets it."""

    reconstruction: torch.Tensor
    latent: torch.Tensor


@register_model(
    "ood_autoencoder",
    summary="autoencoder for out-of-distribution detection (Lindgren & Zach)",
    dims=(2, 3),
    uses=("latent_dim",),
    defaults={"spatial_dims": 2, "channels": (16, 32), "latent_dim": 16, "norm": "none"},
    family="ood",
)
class OODAutoencoder(nn.Module):
    """`ConvEncoder` (len(channels) blocks) -> 1x1 to latent_dim channels -> `ConvDecoder`."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        dims = config.spatial_dims
        self.encoder = ConvEncoder(config)
        self.to_latent = OutputHead(config.channels[-1], config.latent_dim, dims=dims)
        self.decoder = ConvDecoder(config, in_channels=config.latent_dim)

    def forward(self, x: torch.Tensor) -> AutoencoderOutput:
        check_any_size(self.config, x)
        original = tuple(x.shape[2:])
        padded = pad_to_multiple(x, 2 ** len(self.config.channels))
        latent = self.to_latent(self.encoder(padded))
        reconstruction = crop_to(self.decoder(latent), original, tuple(padded.shape[2:]))
        return AutoencoderOutput(reconstruction, latent)
