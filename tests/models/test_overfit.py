"""Every architecture can learn: it overfits one simulated patch with a pore on the CPU
(the loss falls by at least 90 % within a bounded number of Adam steps)."""

from __future__ import annotations

import pytest
import torch

from porelab.losses import CrossEntropy, DeepSupervisionLoss, DiceLoss
from porelab.models import build_model, model_names

MAX_STEPS = 150
LEARNING_RATE = 0.03


def _fit(
    model: torch.nn.Module, loss_fn, x: torch.Tensor, target: torch.Tensor, lr: float = LEARNING_RATE
) -> tuple[float, float, int]:
    """Adam steps until the loss is below 10 % of its first value (or MAX_STEPS)."""
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    first = last = None
    for step in range(1, MAX_STEPS + 1):
        optimiser.zero_grad()
        loss = loss_fn(model(x), target)
        loss.backward()
        optimiser.step()
        last = loss.item()
        first = last if first is None else first
        if last <= 0.1 * first:
            break
    return first, last, step


SEGMENTERS_3D = [n for n in model_names() if n != "patch_classifier"]


@pytest.mark.parametrize("name", SEGMENTERS_3D)
def test_segmenter_overfits_a_3d_patch_with_one_pore(tiny_overrides, sphere_patch, name):
    torch.manual_seed(0)
    model = build_model(name, **tiny_overrides(name, 3)).train()
    image, mask = sphere_patch(size=16, dims=3, radius=4.0)
    first, last, steps = _fit(model, DeepSupervisionLoss(DiceLoss()), image, mask)
    assert last <= 0.1 * first, f"{name}: Dice loss {first:.3f} -> {last:.3f} in {steps} steps"


@pytest.mark.parametrize("name, extra", [("unet", {}), ("unetpp", {}), ("modular_unet", {"context_slices": 5})])
def test_segmenter_overfits_a_2d_image_with_one_pore(tiny_overrides, sphere_patch, name, extra):
    torch.manual_seed(0)
    model = build_model(name, **tiny_overrides(name, 2), **extra).train()
    image, mask = sphere_patch(size=32, dims=2, radius=6.0)
    if extra:  # 2.5D: the same image as all five context slices
        image = image.unsqueeze(2).expand(-1, -1, 5, -1, -1)
    first, last, steps = _fit(model, DeepSupervisionLoss(DiceLoss()), image, mask)
    assert last <= 0.1 * first, f"{name}: Dice loss {first:.3f} -> {last:.3f} in {steps} steps"


def test_multiclass_unet_overfits_three_phases(tiny_overrides, sphere_patch):
    """Softmax head: background, a pore, and a brighter inclusion (Bertoldo's three phases)."""
    torch.manual_seed(0)
    image, pore = sphere_patch(size=32, dims=2, radius=6.0)
    labels = pore[:, 0].long()
    labels[:, 2:8, 2:8] = 2
    image[:, :, 2:8, 2:8] = 1.6
    model = build_model("unet", **tiny_overrides("unet", 2), out_channels=3).train()
    first, last, steps = _fit(model, DiceLoss(), image, labels)
    assert last <= 0.1 * first, f"Dice loss {first:.3f} -> {last:.3f} in {steps} steps"


def test_patch_classifier_overfits_pore_and_clean_patches(tiny_overrides, sphere_patch):
    torch.manual_seed(0)
    with_pore, _ = sphere_patch(size=32, dims=2, radius=5.0, seed=1)
    clean = 1.0 + 0.05 * torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(2))
    x = torch.cat([with_pore, clean])
    # dropout off: with four channels, dropping whole feature maps stalls the fit
    model = build_model("patch_classifier", **tiny_overrides("patch_classifier", 2), dropout=0.0).train()
    # no normalisation in this network (as in the paper): a smaller step keeps ReLUs alive
    first, last, steps = _fit(model, CrossEntropy(), x, torch.tensor([[1.0], [0.0]]), lr=3e-3)
    assert last <= 0.1 * first, f"cross-entropy {first:.3f} -> {last:.3f} in {steps} steps"
