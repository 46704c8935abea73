"""Helpers for the model tests: tiny configs and a simulated patch with one spherical pore."""

from __future__ import annotations

import pytest
import torch

from porelab.models import model_spec

# Small enough for the CPU, deep enough (two down-samplings) to exercise every skip path.
TINY_CHANNELS = (4, 8, 16)


def _tiny_overrides(name: str, spatial_dims: int | None = None, deep_supervision: bool | None = None) -> dict:
    """Config overrides that make model `name` small; deep supervision on where supported."""
    spec = model_spec(name)
    overrides: dict = {"channels": TINY_CHANNELS}
    if name == "dilated_defect":
        overrides["channels"] = (8,)
    if name == "patch_classifier":
        overrides.update(channels=(4, 6, 8, 8), hidden=(8,))
    if deep_supervision is None:
        deep_supervision = spec.deep_supervision
    overrides["deep_supervision"] = deep_supervision
    if spatial_dims is not None:
        overrides["spatial_dims"] = spatial_dims
    return overrides


def _sphere_patch(
    size: int = 16,
    dims: int = 3,
    radius: float = 4.0,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(image, mask), each (1, 1, *[size]*dims): a dark pore (0.3) in bright metal (1.0)
    with Gaussian noise of std 0.05; the pore centre is one voxel off-centre on axis 0."""
    axes = [torch.arange(size, dtype=torch.float32)] * dims
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"))
    centre = torch.tensor([size / 2 + 0.5] + [size / 2 - 0.5] * (dims - 1)).view(-1, *[1] * dims)
    mask = ((grid - centre) ** 2).sum(0) <= radius**2
    noise = torch.randn(mask.shape, generator=torch.Generator().manual_seed(seed))
    image = torch.where(mask, 0.3, 1.0) + 0.05 * noise
    return image[None, None], mask[None, None].float()


@pytest.fixture(autouse=True)
def _single_thread_torch():
    """Two torch threads per process ran slower than one on the shared 2-core machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def tiny_overrides():
    """`tiny_overrides(name, spatial_dims=None, deep_supervision=None) -> dict` of overrides."""
    return _tiny_overrides


@pytest.fixture
def sphere_patch():
    """`sphere_patch(size=16, dims=3, radius=4.0, seed=0) -> (image, mask)`."""
    return _sphere_patch
