"""Training tasks of the unsupervised anomaly models: VAE, ceVAE, gmVAE, vqVAE.

Each loss is a reconstruction term plus the model's latent term; every score is the
voxel-wise reconstruction error |x - x_hat| of the eval-mode reconstruction (the latent
mean for the VAEs), so pores, which a model trained on sound material reconstructs as
material, score high. Labels in the batch are never used for training.

Terms are normalised per voxel: (sum of squared errors + beta * KL) / voxels, averaged over
the batch, which is the negative ELBO of a unit-variance Gaussian decoder up to a scale.
"""

from __future__ import annotations

import torch
from torch import nn

from porelab.errors import ConfigError
from porelab.models.gmvae import gaussian_log_prob
from porelab.models.vae import mask_boxes, random_boxes
from porelab.tasks.catalogue import Batch, register_task


def reconstruction_error(image: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """Voxel-wise anomaly score |x - x_hat|, shape (B, 1, *patch)."""
    return (image - reconstruction).abs()


def squared_error_sum(image: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """Sum of squared errors per sample, shape (B,)."""
    return ((image - reconstruction) ** 2).flatten(1).sum(1)


def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, 1)) per sample, summed over the latent, shape (B,)."""
    return 0.5 * (mean**2 + log_var.exp() - 1.0 - log_var).sum(1)


def _voxels(image: torch.Tensor) -> int:
    return int(image[0].numel())


def _check_weight(task: str, name: str, value: float, upper: float | None = None) -> None:
    if value < 0 or (upper is not None and value > upper):
        bound = f"in [0, {upper:g}]" if upper is not None else ">= 0"
        raise ConfigError(f"task {task!r}: {name} must be {bound}, got {value}")


class _ReconstructionScore:
    """The score every anomaly task shares."""

    def score(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        image = batch["image"]
        return reconstruction_error(image, model(image).reconstruction)


@register_task("vae", models=("vae",))
class VAETask(_ReconstructionScore):
    """Negative ELBO: squared reconstruction error + beta * KL to the standard normal prior."""

    def __init__(self, beta: float = 1.0) -> None:
        _check_weight("vae", "beta", beta)
        self.beta = beta

    def elbo_terms(self, model: nn.Module, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction, KL) per sample, each divided by the voxel count."""
        out = model(image)
        voxels = _voxels(image)
        return squared_error_sum(image, out.reconstruction) / voxels, gaussian_kl(out.mean, out.log_var) / voxels

    def loss(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        reconstruction, kl = self.elbo_terms(model, batch["image"])
        value = (reconstruction + self.beta * kl).mean()
        return value, {
            "loss": float(value.detach()),
            "reconstruction": float(reconstruction.mean().detach()),
            "kl": float(kl.mean().detach()),
        }


@register_task("cevae", models=("cevae",))
class ContextEncodingVAETask(VAETask):
    """(1 - w) * VAE loss + w * squared error of the context branch (Zimmerer et al., w = 0.5).

    The context branch sees the patch with `boxes` boxes of `box_size` voxels per edge set to
    zero (a masked copy; the batch is not modified) and must reconstruct the whole patch.
    """

    def __init__(
        self,
        beta: float = 1.0,
        context_weight: float = 0.5,
        boxes: tuple[int, int] = (1, 3),
        box_size: tuple[int, int] = (4, 16),
        seed: int = 0,
    ) -> None:
        super().__init__(beta)
        _check_weight("cevae", "context_weight", context_weight, upper=1.0)
        self.context_weight = context_weight
        self.boxes, self.box_size = tuple(boxes), tuple(box_size)
        self.generator = torch.Generator().manual_seed(seed)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        image = batch["image"]
        reconstruction, kl = self.elbo_terms(model, image)
        vae = (reconstruction + self.beta * kl).mean()
        mask = random_boxes(tuple(image.shape), self.generator, self.boxes, self.box_size)
        filled = model.reconstruct_context(mask_boxes(image, mask))
        context = (squared_error_sum(image, filled) / _voxels(image)).mean()
        value = (1 - self.context_weight) * vae + self.context_weight * context
        return value, {
            "loss": float(value.detach()),
            "reconstruction": float(reconstruction.mean().detach()),
            "kl": float(kl.mean().detach()),
            "context": float(context.detach()),
        }


@register_task("gmvae", models=("gmvae",))
class GaussianMixtureVAETask(_ReconstructionScore):
    """Reconstruction + beta * (log q(z|x) - log p(z)) at the sampled z: a one-sample
    estimate of the KL to the mixture prior, which has no closed form."""

    def __init__(self, beta: float = 1.0) -> None:
        _check_weight("gmvae", "beta", beta)
        self.beta = beta

    def loss(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        image = batch["image"]
        out = model(image)
        voxels = _voxels(image)
        reconstruction = squared_error_sum(image, out.reconstruction) / voxels
        kl = (gaussian_log_prob(out.latent, out.mean, out.log_var) - model.prior_log_prob(out.latent)) / voxels
        value = (reconstruction + self.beta * kl).mean()
        return value, {
            "loss": float(value.detach()),
            "reconstruction": float(reconstruction.mean().detach()),
            "kl": float(kl.mean().detach()),
        }


@register_task("vqvae", models=("vqvae",))
class VQVAETask(_ReconstructionScore):
    """Mean squared reconstruction error + commitment * ||z_e - sg(e)||^2.

    The codebook term of van den Oord et al. is replaced by the EMA codebook update the
    model performs in training mode (`porelab.models.VectorQuantizerEMA`).
    """

    def __init__(self, commitment: float = 0.25) -> None:
        _check_weight("vqvae", "commitment", commitment)
        self.commitment = commitment

    def loss(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        image = batch["image"]
        out = model(image)
        reconstruction = ((image - out.reconstruction) ** 2).mean()
        value = reconstruction + self.commitment * out.commitment
        return value, {
            "loss": float(value.detach()),
            "reconstruction": float(reconstruction.detach()),
            "commitment": float(out.commitment.detach()),
        }
