"""The building blocks every architecture shares: `ConvBlock`, `Down`, `Up`, `OutputHead`.

Each takes the spatial dimension (2 or 3) as a parameter, so 2D, 2.5D and 3D networks
are the same code and comparisons between architectures are fair.
"""

from __future__ import annotations

import torch
from torch import nn

from porelab.errors import ConfigError
from porelab.models.layers import (
    conv_class,
    conv_transpose_class,
    dropout_class,
    linear_interpolation_mode,
    make_activation,
    make_norm,
    pool_class,
)


class ConvBlock(nn.Module):
    """`convs` x (convolution -> normalisation -> activation), with optional dropout and
    an optional residual path (a 1x1 projection when the channel count changes).

    Dropout (channel-wise) follows every activation. Convolutions carry a bias only when
    there is no normalisation, whose shift would cancel it.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        dims: int,
        norm: str = "batch",
        activation: str = "relu",
        dropout: float = 0.0,
        residual: bool = False,
        convs: int = 2,
        kernel_size: int = 3,
        dilation: int = 1,
    ) -> None:
        super().__init__()
        if convs < 1:
            raise ConfigError(f"ConvBlock: convs must be >= 1, got {convs}")
        units: list[nn.Module] = []
        channels = in_channels
        for index in range(convs):
            units += _conv_unit(channels, out_channels, dims, norm, kernel_size, dilation)
            if index < convs - 1:
                units += _post_activation(activation, dropout, dims)
            channels = out_channels
        self.body = nn.Sequential(*units)
        self.skip = _projection(in_channels, out_channels, dims) if residual else None
        self.post = nn.Sequential(*_post_activation(activation, dropout, dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        if self.skip is not None:
            y = y + self.skip(x)
        return self.post(y)


class Down(nn.Module):
    """Down-sampling by `factor` along every axis; the channel count is kept.

    mode "maxpool" | "avgpool" is rigid; "conv" is a learnable strided convolution
    (kernel = stride = factor).
    """

    def __init__(self, channels: int, *, dims: int, mode: str = "maxpool", factor: int = 2) -> None:
        super().__init__()
        if mode == "conv":
            self.op = conv_class(dims)(channels, channels, kernel_size=factor, stride=factor)
        else:
            self.op = pool_class(dims, mode)(kernel_size=factor, stride=factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Up(nn.Module):
    """Up-sampling by `factor` along every axis, from `in_channels` to `out_channels`.

    mode "transpose" is a learnable transposed convolution (kernel = stride = factor);
    "interpolate" is (bi/tri)linear interpolation with a 1x1 convolution for the
    channels. The 1x1 convolution runs before the interpolation: both are linear, so the
    order does not change the result, and convolving the small map is cheaper.
    """

    def __init__(
        self, in_channels: int, out_channels: int, *, dims: int, mode: str = "transpose", factor: int = 2
    ) -> None:
        super().__init__()
        self.factor = factor
        self.interpolation = linear_interpolation_mode(dims)
        if mode == "transpose":
            self.conv = conv_transpose_class(dims)(in_channels, out_channels, kernel_size=factor, stride=factor)
        elif mode == "interpolate":
            self.conv = conv_class(dims)(in_channels, out_channels, kernel_size=1)
        else:
            raise ConfigError(f"Up: mode must be 'transpose' or 'interpolate', got {mode!r}")
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if self.mode == "interpolate":
            y = nn.functional.interpolate(y, scale_factor=self.factor, mode=self.interpolation, align_corners=False)
        return y


class OutputHead(nn.Module):
    """1x1 convolution to logits: one channel (binary, sigmoid) or C (multi-class, softmax)."""

    def __init__(self, in_channels: int, out_channels: int, *, dims: int) -> None:
        super().__init__()
        self.conv = conv_class(dims)(in_channels, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def logits_to_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """Sigmoid for one output channel (binary), softmax over channels for C > 1."""
    if logits.shape[1] == 1:
        return torch.sigmoid(logits)
    return torch.softmax(logits, dim=1)


def _conv_unit(
    in_channels: int, out_channels: int, dims: int, norm: str, kernel_size: int, dilation: int
) -> list[nn.Module]:
    padding = dilation * (kernel_size - 1) // 2
    conv = conv_class(dims)(
        in_channels, out_channels, kernel_size=kernel_size, padding=padding, dilation=dilation, bias=norm == "none"
    )
    return [conv, make_norm(norm, dims, out_channels)]


def _post_activation(activation: str, dropout: float, dims: int) -> list[nn.Module]:
    layers = [make_activation(activation)]
    if dropout > 0:
        layers.append(dropout_class(dims)(dropout))
    return layers


def _projection(in_channels: int, out_channels: int, dims: int) -> nn.Module:
    if in_channels == out_channels:
        return nn.Identity()
    return conv_class(dims)(in_channels, out_channels, kernel_size=1)
