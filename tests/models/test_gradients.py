"""Every parameter of every model receives a finite gradient from one backward pass."""

from __future__ import annotations

import pytest
import torch

from porelab.losses import CrossEntropy, DeepSupervisionLoss, DiceLoss
from porelab.models import build_model, model_names, model_spec


def _cases():
    for name in model_names():
        for dims in model_spec(name).dims:
            yield name, dims


@pytest.mark.parametrize("name, dims", list(_cases()))
def test_every_parameter_gets_a_finite_gradient(tiny_overrides, name, dims):
    torch.manual_seed(0)
    options = tiny_overrides(name, dims)
    if name != "patch_classifier":
        options.update(residual=True, dropout=0.1)  # the optional paths too
    model = build_model(name, **options).train()
    size = 16 if dims == 2 else 8
    x = torch.randn(2, 1, *[size] * dims)
    if name == "patch_classifier":
        loss = CrossEntropy()(model(x), torch.tensor([0.0, 1.0]))
    else:
        target = (torch.rand(2, 1, *[size] * dims) > 0.7).float()
        loss = DeepSupervisionLoss(DiceLoss())(model(x), target)
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"{name}: no gradient for {missing}"
    bad = [n for n, p in model.named_parameters() if not torch.isfinite(p.grad).all()]
    assert not bad, f"{name}: non-finite gradient for {bad}"
    silent = [n for n, p in model.named_parameters() if not p.grad.abs().sum() > 0]
    assert not silent, f"{name}: zero gradient for {silent}"
