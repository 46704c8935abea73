"""Modular U-Net (Bertoldo et al.): 2D, 2.5D and 3D from the same blocks."""

from __future__ import annotations

import torch

from porelab.errors import ConfigError
from porelab.models.base import ModelInputError
from porelab.models.config import ModelConfig
from porelab.models.catalogue import register_model
from porelab.models.unet import UNet


def channel_ladder(f0: int, depth: int) -> tuple[int, ...]:
    """Channels f0, 2 f0, 4 f0, ... for `depth` down-samplings: Bertoldo et al.'s f0 and depth."""
    return tuple(f0 * 2**level for level in range(depth + 1))


@register_model(
    "modular_unet",
    summary="Modular U-Net, 2D / 2.5D / 3D (Bertoldo et al.)",
    dims=(2, 3),
    uses=("context_slices", "input_noise"),
)
class ModularUNet(UNet):
    """The U-Net with the Modular U-Net's switches.

    - f0 and depth: `channels=channel_ladder(f0, depth)`;
    - learnable or rigid sampling: `down_mode` "conv" | "maxpool", `up_mode`
      "transpose" | "interpolate"; `residual`; `norm` "batch" | "none"; `dropout`;
    - Gaussian input noise of std `input_noise`, in training mode only;
    - 2.5D: `spatial_dims=2, context_slices=5`. The input is then (N, C, 5, H, W) (a stack
      of slices around the one to segment) or (N, C*5, H, W); the slices become channels
      of a 2D network, and the output is (N, out_channels, H, W) for the centre slice.
    """

    def __init__(self, config: ModelConfig) -> None:
        if config.context_slices > 1 and config.spatial_dims != 2:
            raise ConfigError(
                f"model {config.name!r}: context_slices > 1 (2.5D) needs "
                f"spatial_dims=2, got spatial_dims={config.spatial_dims}"
            )
        super().__init__(config, in_channels=config.in_channels * config.context_slices)

    @property
    def input_channels(self) -> int:
        return self.config.in_channels * self.config.context_slices

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        slices = self.config.context_slices
        if slices > 1 and x.ndim == 5:
            if x.shape[2] != slices:
                raise ModelInputError(
                    f"model {self.config.name!r}: a 2.5D input (N, C, S, H, W) "
                    f"needs S = context_slices = {slices}, got shape "
                    f"{tuple(x.shape)}"
                )
            x = x.flatten(1, 2)  # (N, C, S, H, W) -> (N, C*S, H, W)
        if self.training and self.config.input_noise > 0:
            x = x + self.config.input_noise * torch.randn_like(x)
        return x
