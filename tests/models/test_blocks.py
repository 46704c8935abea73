"""The shared blocks: shapes in 2D and 3D, options, residual path, padding helpers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from porelab.errors import ConfigError
from porelab.models import ConvBlock, Down, OutputHead, Up, logits_to_probabilities
from porelab.models.padding import crop_to, pad_to_multiple


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_conv_block_keeps_size_and_sets_channels(dims, norm):
    block = ConvBlock(3, 5, dims=dims, norm=norm, dropout=0.2, residual=True)
    x = torch.randn(2, 3, *[9] * dims)
    assert block(x).shape == (2, 5, *[9] * dims)
    convs = [m for m in block.body if isinstance(m, (nn.Conv2d, nn.Conv3d))]
    assert len(convs) == 2 and all(c.kernel_size == (3,) * dims for c in convs)
    # a bias only where no normalisation follows
    assert all((c.bias is not None) == (norm == "none") for c in convs)


def test_conv_block_residual_is_identity_plus_body():
    torch.manual_seed(0)
    block = ConvBlock(4, 4, dims=2, norm="none", activation="relu", residual=True).eval()
    x = torch.randn(1, 4, 6, 6)
    assert isinstance(block.skip, nn.Identity)
    assert torch.allclose(block(x), torch.relu(block.body(x) + x))
    projected = ConvBlock(4, 6, dims=2, residual=True)
    assert isinstance(projected.skip, nn.Conv2d) and projected.skip.kernel_size == (1, 1)


def test_conv_block_dilation_keeps_size():
    block = ConvBlock(1, 2, dims=3, convs=1, dilation=4)
    assert block(torch.randn(1, 1, 11, 10, 9)).shape == (1, 2, 11, 10, 9)


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("mode", ["maxpool", "avgpool", "conv"])
def test_down_halves_each_axis(dims, mode):
    x = torch.randn(1, 3, *[8] * dims)
    assert Down(3, dims=dims, mode=mode)(x).shape == (1, 3, *[4] * dims)
    assert Down(3, dims=dims, mode=mode, factor=4)(x).shape == (1, 3, *[2] * dims)


def test_down_avgpool_matches_block_means():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    expected = torch.tensor([[2.5, 4.5], [10.5, 12.5]])
    assert torch.equal(Down(1, dims=2, mode="avgpool")(x)[0, 0], expected)


@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("mode", ["transpose", "interpolate"])
def test_up_doubles_each_axis(dims, mode):
    x = torch.randn(1, 6, *[3] * dims)
    assert Up(6, 2, dims=dims, mode=mode)(x).shape == (1, 2, *[6] * dims)


def test_up_interpolate_convolves_then_interpolates_like_the_other_order():
    torch.manual_seed(0)
    up = Up(3, 2, dims=2, mode="interpolate")
    x = torch.randn(1, 3, 5, 4)
    big = nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert torch.allclose(up(x), up.conv(big), atol=1e-6)


def test_bad_options_raise_config_error():
    with pytest.raises(ConfigError, match="norm"):
        ConvBlock(1, 2, dims=2, norm="group")
    with pytest.raises(ConfigError, match="activation"):
        ConvBlock(1, 2, dims=2, activation="tanh")
    with pytest.raises(ConfigError, match="spatial_dims"):
        ConvBlock(1, 2, dims=4)
    with pytest.raises(ConfigError, match="pooling"):
        Down(2, dims=2, mode="stride")
    with pytest.raises(ConfigError, match="mode"):
        Up(2, 2, dims=2, mode="pixelshuffle")


def test_heads_and_probabilities():
    logits = OutputHead(4, 3, dims=3)(torch.randn(2, 4, 5, 5, 5))
    assert logits.shape == (2, 3, 5, 5, 5)
    assert torch.allclose(logits_to_probabilities(logits).sum(1), torch.ones(2, 5, 5, 5))
    binary = torch.tensor([[0.0], [2.0]])
    assert torch.allclose(logits_to_probabilities(binary), torch.sigmoid(binary))


def test_pad_to_multiple_replicates_edges_and_crop_restores():
    x = torch.arange(15.0).view(1, 1, 3, 5)
    padded = pad_to_multiple(x, 4)
    assert padded.shape == (1, 1, 4, 8)
    assert torch.equal(padded[..., :3, :5], x)
    assert torch.equal(padded[0, 0, 3, :5], x[0, 0, 2])  # last row repeated
    assert torch.equal(padded[0, 0, :3, 7], x[0, 0, :, 4])  # last column repeated
    assert torch.equal(crop_to(padded, (3, 5), (4, 8)), x)
    # a head at half resolution keeps ceil(original / 2) elements per axis
    assert crop_to(torch.zeros(1, 1, 2, 4), (3, 5), (4, 8)).shape == (1, 1, 2, 3)
    assert pad_to_multiple(x, 1) is x
