"""`Segmenter`: what every segmentation network shares (input checks, padding, heads).

Output convention (the losses' `DeepSupervisionLoss` relies on it):

- every segmenter returns logits, shape (N, out_channels, *spatial) with the input's
  spatial size; one channel means binary (apply a sigmoid), C > 1 means C classes
  (apply a softmax over dim 1); `logits_to_probabilities` does either;
- a model built with `deep_supervision=True` returns, **in training mode only**, a tuple
  of head outputs, the main (full-resolution, final) head first, then the auxiliary
  heads in decreasing order of weight (closer to the final output first);
- in eval mode every model returns the main head alone, a plain tensor.
"""

from __future__ import annotations

import abc

import torch
from torch import nn

from porelab.errors import PorelabError
from porelab.models.blocks import logits_to_probabilities
from porelab.models.config import ModelConfig
from porelab.models.padding import crop_to, pad_to_multiple

SegmenterOutput = torch.Tensor | tuple[torch.Tensor, ...]


class ModelInputError(PorelabError, ValueError):
    """A tensor given to a model has the wrong number of axes or channels."""


class Segmenter(nn.Module, abc.ABC):
    """Base of the segmentation networks: subclasses implement `_heads`.

    `size_multiple` is the stride the architecture needs (2^depth for a U-Net); inputs
    are padded up to it and every head is cropped back.
    """

    def __init__(self, config: ModelConfig, size_multiple: int = 1) -> None:
        super().__init__()
        self.config = config
        self.size_multiple = size_multiple

    @abc.abstractmethod
    def _heads(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Logits of every head, main head first, for an input already padded."""

    @property
    def input_ndim(self) -> int:
        """Axes of the tensor `_heads` works on: batch, channel and the spatial axes."""
        return self.config.spatial_dims + 2

    @property
    def input_channels(self) -> int:
        return self.config.in_channels

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Hook for subclasses to reshape or perturb the input before it is padded."""
        return x

    def forward(self, x: torch.Tensor) -> SegmenterOutput:
        x = self._check_input(self._prepare(x))
        original = tuple(x.shape[2:])
        padded = pad_to_multiple(x, self.size_multiple)
        heads = [crop_to(h, original, tuple(padded.shape[2:])) for h in self._heads(padded)]
        if self.training and self.config.deep_supervision:
            return tuple(heads)
        return heads[0]

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Probabilities of the main head (sigmoid or softmax), whatever the mode."""
        output = self(x)
        main = output[0] if isinstance(output, tuple) else output
        return logits_to_probabilities(main)

    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        name = self.config.name
        if x.ndim != self.input_ndim:
            raise ModelInputError(
                f"model {name!r}: input must have {self.input_ndim} axes (batch, channel, "
                f"{self.input_ndim - 2} spatial), got shape {tuple(x.shape)}"
            )
        if x.shape[1] != self.input_channels:
            raise ModelInputError(
                f"model {name!r}: input must have {self.input_channels} "
                f"channel(s) on axis 1, got shape {tuple(x.shape)}"
            )
        return x


def block_options(config: ModelConfig) -> dict:
    """Keyword arguments of `ConvBlock` taken from a config."""
    return {
        "dims": config.spatial_dims,
        "norm": config.norm,
        "activation": config.activation,
        "dropout": config.dropout,
        "residual": config.residual,
    }
