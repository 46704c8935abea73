"""Channels-last on the CPU: the same training and the same outputs as the default layout, to
float rounding; 2-D models and GPUs keep the default layout."""

from __future__ import annotations

import copy

import torch

from porelab.models import build_model
from porelab.models.layout import fast_layout, input_layout
from porelab.tasks import build_task


def _steps(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, layout: bool) -> list[float]:
    if layout:
        model = fast_layout(model, torch.device("cpu"))
    task = build_task("segmentation", loss="dice")
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(4):
        batch = {"image": input_layout(x, model), "label": input_layout(y, model)}
        optimiser.zero_grad()
        loss, _ = task.loss(model, batch)
        loss.backward()
        optimiser.step()
        losses.append(float(loss))
    return losses


def test_channels_last_trains_like_the_default_layout(sphere_patch):
    torch.manual_seed(0)
    model = build_model("unet", channels=(4, 8), norm="batch")
    image, mask = sphere_patch(size=16, dims=3, radius=4.0)
    x, y = torch.cat([image, image.flip(2)]), torch.cat([mask, mask.flip(2)])
    default = _steps(copy.deepcopy(model), x, y, layout=False)
    fast = _steps(copy.deepcopy(model), x, y, layout=True)
    assert default[-1] < default[0]  # it trains at all
    assert max(abs(a - b) for a, b in zip(default, fast)) < 1e-4, (default, fast)


def test_only_3d_models_on_the_cpu_change_layout():
    volume_model = fast_layout(build_model("unet", channels=(4, 8)), torch.device("cpu"))
    weight = next(p for p in volume_model.parameters() if p.ndim == 5 and p.shape[1] > 1)
    assert weight.is_contiguous(memory_format=torch.channels_last_3d) and not weight.is_contiguous()
    batch = input_layout(torch.rand(2, 3, 8, 8, 8), volume_model)
    assert batch.is_contiguous(memory_format=torch.channels_last_3d) and not batch.is_contiguous()
    image_model = fast_layout(build_model("unet", spatial_dims=2, channels=(4, 8)), torch.device("cpu"))
    assert all(p.is_contiguous() for p in image_model.parameters())
    meta = build_model("unet", channels=(4, 8)).to("meta")
    assert all(p.is_contiguous() for p in fast_layout(meta, torch.device("cuda")).parameters())
