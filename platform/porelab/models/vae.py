"""Variational autoencoder and context-encoding VAE (Zimmerer et al.), as Iuso et al. use them.

A stride-2 convolutional encoder maps a 64^3 patch to the mean and log-variance of a dense
latent vector (512 numbers); the decoder, without skips, maps a latent vector back to a
patch. Trained on sound material, it reconstructs pores as material, so the reconstruction
error marks them. The ceVAE adds a context-encoding branch: boxes of the input are masked
and the same network must fill them in from their surroundings.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from porelab.errors import ConfigError
from porelab.models.autoencoder import ConvDecoder, ConvEncoder, bottleneck_edge, check_patch, flat_size
from porelab.models.config import ModelConfig
from porelab.models.catalogue import register_model

VAE_FIELDS = ("latent_dim", "patch_size")
# No normalisation layers: with batch norm the reconstructions of short CPU trainings converged
# several times slower (the running statistics lag the quickly moving decoder).
VAE_DEFAULTS = {"channels": (16, 32, 64, 128), "down_mode": "conv", "latent_dim": 512, "patch_size": 64, "norm": "none"}


class VAEOutput(NamedTuple):
    """Reconstruction first, so code that takes a model's first output gets it."""

    reconstruction: torch.Tensor
    mean: torch.Tensor
    log_var: torch.Tensor
    latent: torch.Tensor


@register_model(
    "vae",
    summary="variational autoencoder, dense 512 latent (Zimmerer et al.)",
    dims=(2, 3),
    uses=VAE_FIELDS,
    defaults=VAE_DEFAULTS,
    family="anomaly",
)
class VAE(nn.Module):
    """Encoder -> (mean, log-variance) -> sampled latent (the mean in eval mode) -> decoder."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        edge = bottleneck_edge(config)
        self.bottleneck_shape = (config.channels[-1], *[edge] * config.spatial_dims)
        features = flat_size(config.channels[-1], edge, config.spatial_dims)
        self.encoder = ConvEncoder(config)
        self.to_latent = nn.Linear(features, 2 * config.latent_dim)
        self.from_latent = nn.Linear(config.latent_dim, features)
        self.decoder = ConvDecoder(config)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log-variance) of the latent posterior, each (N, latent_dim)."""
        check_patch(self.config, x)
        mean, log_var = self.to_latent(self.encoder(x).flatten(1)).chunk(2, dim=1)
        return mean, log_var.clamp(-30.0, 20.0)

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        code = self.from_latent(latent).view(-1, *self.bottleneck_shape)
        return self.decoder(torch.relu(code))

    def forward(self, x: torch.Tensor) -> VAEOutput:
        mean, log_var = self.encode(x)
        latent = mean
        if self.training:
            latent = mean + torch.randn_like(mean) * torch.exp(0.5 * log_var)
        return VAEOutput(self.decode(latent), mean, log_var, latent)


@register_model(
    "cevae",
    summary="context-encoding VAE: VAE + masked-box inpainting (Zimmerer et al.)",
    dims=(2, 3),
    uses=VAE_FIELDS,
    defaults=VAE_DEFAULTS,
    family="anomaly",
)
class ContextEncodingVAE(VAE):
    """The VAE network with a second, deterministic path for masked inputs."""

    def reconstruct_context(self, masked: torch.Tensor) -> torch.Tensor:
        """Reconstruction of a masked input through the latent mean (no sampling)."""
        mean, _ = self.encode(masked)
        return self.decode(mean)


def random_boxes(
    shape: tuple[int, ...], generator: torch.Generator, count: tuple[int, int] = (1, 3), size: tuple[int, int] = (4, 16)
) -> torch.Tensor:
    """Boolean mask (N, 1, *spatial) with `count` boxes per sample, each edge drawn in `size`.

    Boxes are clipped to the patch, so a patch smaller than the largest box still works.
    """
    if not (1 <= count[0] <= count[1] and 1 <= size[0] <= size[1]):
        raise ConfigError(
            f"random_boxes: count {count} and size {size} must be (low, high) "
            f"ranges of positive integers with low <= high"
        )
    batch, spatial = shape[0], tuple(shape[2:])
    mask = torch.zeros((batch, 1, *spatial), dtype=torch.bool)
    for sample in range(batch):
        for _ in range(_draw(count, generator)):
            box = [slice(None), slice(None)]
            for edge in spatial:
                length = min(_draw(size, generator), edge)
                start = _draw((0, edge - length), generator)
                box.append(slice(start, start + length))
            mask[(sample, *box[1:])] = True
    return mask


def mask_boxes(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """A copy of `x` with the masked voxels set to 0, the grey value of air and pores in a
    normalised scan: the branch learns to fill dark holes with the material around them."""
    return torch.where(mask.to(x.device), torch.zeros((), dtype=x.dtype, device=x.device), x)


def _draw(bounds: tuple[int, int], generator: torch.Generator) -> int:
    return int(torch.randint(bounds[0], bounds[1] + 1, (1,), generator=generator))
