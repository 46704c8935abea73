"""Deep defect detector (Fuchs et al.): a 3D U-Net followed by a boundary refinement stage."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from porelab.models.base import Segmenter, block_options
from porelab.models.blocks import ConvBlock, OutputHead, logits_to_probabilities
from porelab.models.config import ModelConfig
from porelab.models.catalogue import register_model
from porelab.models.unet import UNet


def boundary_band(probabilities: torch.Tensor) -> torch.Tensor:
    """Where the segmentation changes within one voxel: the morphological gradient
    (3^d max minus 3^d min) of the probabilities, maximised over channels, in [0, 1]."""
    pool = F.max_pool3d if probabilities.ndim == 5 else F.max_pool2d
    dilated = pool(probabilities, kernel_size=3, stride=1, padding=1)
    eroded = -pool(-probabilities, kernel_size=3, stride=1, padding=1)
    return (dilated - eroded).amax(dim=1, keepdim=True)


@register_model(
    "deep_defect", summary="3D U-Net + boundary refinement stage (Fuchs et al.)", dims=(2, 3), deep_supervision=True
)
class DeepDefectDetector(Segmenter):
    """Stage 1 is a U-Net; stage 2 sees the input and the stage-1 probabilities and
    predicts a logit correction that is applied only on the boundary band of stage 1
    (`boundary_band`), where a coarse U-Net is least certain.

    Heads: the refined output (main) first, then the stage-1 output.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.coarse = UNet(config.replace(name="unet", deep_supervision=False))
        width = config.channels[0]
        self.refine = nn.Sequential(
            ConvBlock(config.in_channels + config.out_channels, width, **block_options(config)),
            OutputHead(width, config.out_channels, dims=config.spatial_dims),
        )

    def _heads(self, x: torch.Tensor) -> list[torch.Tensor]:
        coarse = self.coarse(x)
        probabilities = logits_to_probabilities(coarse)
        band = boundary_band(probabilities.detach())
        refined = coarse + band * self.refine(torch.cat([x, probabilities], dim=1))
        return [refined, coarse]
