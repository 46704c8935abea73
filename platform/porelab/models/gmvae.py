"""Gaussian-mixture VAE: the VAE with a learned mixture of K Gaussians as the latent prior.

A single Gaussian prior pulls every latent code towards one blob; a mixture lets sound
material of different kinds (bulk, surface, background) keep separate clusters.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from porelab.models.config import ModelConfig
from porelab.models.catalogue import register_model
from porelab.models.vae import VAE, VAE_DEFAULTS, VAE_FIELDS


@register_model(
    "gmvae",
    summary="VAE with a K-component Gaussian-mixture latent prior",
    dims=(2, 3),
    uses=(*VAE_FIELDS, "mixture_components"),
    defaults=VAE_DEFAULTS,
    family="anomaly",
)
class GaussianMixtureVAE(VAE):
    """Prior p(z) = sum_k pi_k N(z; mu_k, diag(sigma_k^2)) with learned pi, mu, sigma."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        components, dim = config.mixture_components, config.latent_dim
        generator = torch.Generator().manual_seed(0)
        self.prior_means = nn.Parameter(torch.randn(components, dim, generator=generator))
        self.prior_log_vars = nn.Parameter(torch.zeros(components, dim))
        self.prior_logits = nn.Parameter(torch.zeros(components))

    def prior_log_prob(self, latent: torch.Tensor) -> torch.Tensor:
        """log p(z) for latent vectors (N, latent_dim): log-sum-exp over the components."""
        log_weights = torch.log_softmax(self.prior_logits, dim=0)
        per_component = gaussian_log_prob(latent[:, None, :], self.prior_means[None], self.prior_log_vars[None])
        return torch.logsumexp(log_weights[None] + per_component, dim=1)


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, diag(exp(log_var))), summed over the last axis."""
    log_var = log_var.clamp(-30.0, 20.0)
    squared = (x - mean) ** 2 * torch.exp(-log_var)
    return -0.5 * (squared + log_var + math.log(2 * math.pi)).sum(-1)
