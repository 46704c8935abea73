"""Getting a model ready for inference on the device at hand."""

from __future__ import annotations

import torch
from torch import nn

from porelab.models.layout import fast_layout, input_layout

__all__ = ["input_layout", "pick_device", "prepare_for_inference"]


def pick_device(requested: str = "auto") -> torch.device:
    """'auto' takes the GPU when torch sees one, else the CPU; 'cuda' without a GPU is an error."""
    from porelab.errors import ConfigError

    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device = {requested!r}, but torch sees no CUDA GPU on this machine; expected 'cpu' or 'auto'"
        )
    return device


def prepare_for_inference(model: nn.Module, device: torch.device) -> nn.Module:
    """Eval mode on `device`; 3-D models on the CPU switch to the channels-last layout
    (`porelab.models.layout`)."""
    return fast_layout(model.eval().to(device), device)
