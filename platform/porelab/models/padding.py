"""Pad an input up to a multiple of the network's stride, and crop outputs back.

Every architecture takes any input size: a U-Net of depth d needs sizes divisible by
2^d, so the input is padded at the high end of each axis (edge values replicated, which
keeps artificial borders out of the image) and the outputs are cropped back.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Replicate-pad the spatial axes of `x` (N, C, *spatial) up to multiples of `multiple`."""
    if multiple <= 1:
        return x
    spatial = x.shape[2:]
    extra = [(-size) % multiple for size in spatial]
    if not any(extra):
        return x
    pads: list[int] = []
    for amount in reversed(extra):  # F.pad lists the last axis first
        pads += [0, amount]
    return F.pad(x, pads, mode="replicate")


def crop_to(output: torch.Tensor, original: tuple[int, ...], padded: tuple[int, ...]) -> torch.Tensor:
    """Crop `output` to the part that covers the unpadded input.

    Works for outputs at a lower resolution than the input too (a coarse deep-supervision
    head): an axis of size s on a padded axis P keeps ceil(original * s / P) elements.
    """
    slices = [slice(None), slice(None)]
    for size, orig, pad in zip(output.shape[2:], original, padded):
        slices.append(slice(0, math.ceil(orig * size / pad)))
    return output[tuple(slices)]
