"""The OOD autoencoder's loss (Lindgren & Zach) and its task for the training loop.

    L = L_ok + L_per + L_kern,ok + L_kern,per + L_reg

L_ok: mean squared residual of accepted patches, x - AE(x); L_per: of perturbed ones, where
the target is the clean patch, x - AE(x + p), so the network learns to remove what does not
belong; the kernel terms: the maximum over positions of the squared k x k mean of each
residual (a local bias anywhere in the patch is penalised, not only on average); L_reg: the
mean squared latent activation, which keeps the code small so it cannot carry anomalies.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from porelab.errors import ConfigError
from porelab.ood.residual import KERNEL, kernel_mean_max
from porelab.tasks import Batch, register_task


@dataclass(frozen=True)
class OODLossConfig:
    """kernel: k of the kernel terms; kernel_weight, reg_weight: weights of the kernel
    terms and of L_reg (L_ok and L_per weigh 1)."""

    kernel: int = KERNEL
    kernel_weight: float = 1.0
    reg_weight: float = 1e-5

    def __post_init__(self) -> None:
        if self.kernel < 1 or self.kernel_weight < 0 or self.reg_weight < 0:
            raise ConfigError(
                f"OODLossConfig: kernel must be >= 1 and weights >= 0, got "
                f"{self.kernel}, {self.kernel_weight}, {self.reg_weight}"
            )


def ood_loss(
    model: nn.Module, clean: torch.Tensor, perturbed: torch.Tensor | None, config: OODLossConfig = OODLossConfig()
) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss on accepted patches `clean` and, when given, their perturbed copies."""
    out = model(clean)
    residual = clean - out.reconstruction
    parts = {
        "ok": F.mse_loss(out.reconstruction, clean),
        "kern_ok": config.kernel_weight * kernel_mean_max(residual, config.kernel).mean(),
        "reg": config.reg_weight * (out.latent**2).mean(),
    }
    if perturbed is not None:
        repaired = model(perturbed)
        residual = clean - repaired.reconstruction
        parts["per"] = F.mse_loss(repaired.reconstruction, clean)
        parts["kern_per"] = config.kernel_weight * kernel_mean_max(residual, config.kernel).mean()
        parts["reg"] = parts["reg"] + config.reg_weight * (repaired.latent**2).mean()
    total = torch.stack(list(parts.values())).sum()
    return total, {"loss": float(total.detach()), **{k: float(v.detach()) for k, v in parts.items()}}


@register_task("ood_autoencoder", models=("ood_autoencoder",))
class OODAutoencoderTask:
    """Batches: "image" accepted patches, optional "perturbed" (image + perturbation) and
    "label" (the perturbation's mask). Score: |k x k mean of the residual| of the perturbed
    input (the image when there is none), same size as the input."""

    def __init__(self, kernel: int = KERNEL, kernel_weight: float = 1.0, reg_weight: float = 1e-5) -> None:
        self.config = OODLossConfig(kernel, kernel_weight, reg_weight)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        return ood_loss(model, batch["image"], batch.get("perturbed"), self.config)

    def score(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        x = batch.get("perturbed", batch["image"])
        residual = x - model(x).reconstruction
        kernel = min(self.config.kernel, *x.shape[2:])
        kernel -= 1 - kernel % 2  # odd, so the padded mean stays centred
        pool = F.avg_pool2d if x.ndim == 4 else F.avg_pool3d
        return pool(residual, kernel, stride=1, padding=kernel // 2, count_include_pad=False).abs()
