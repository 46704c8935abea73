"""Residual analysis: local statistics against scipy, thresholds at the target FPR, decisions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from porelab.errors import ConfigError
from porelab.ood import decide, fit_thresholds, kernel_mean_max, local_mean_std


def test_local_mean_and_std_match_scipy_uniform_filters():
    x = np.random.default_rng(0).normal(size=(20, 23)).astype(np.float64)
    mean, std = local_mean_std(torch.from_numpy(x)[None, None], 9)
    ref_mean = ndimage.uniform_filter(x, 9)[4:-4, 4:-4]
    ref_std = np.sqrt(np.maximum(ndimage.uniform_filter(x * x, 9)[4:-4, 4:-4] - ref_mean**2, 0))
    np.testing.assert_allclose(mean[0, 0].numpy(), ref_mean, atol=1e-10)
    np.testing.assert_allclose(std[0, 0].numpy(), ref_std, atol=1e-7)
    volume = torch.randn(1, 1, 10, 10, 10, dtype=torch.float64)
    mean3, _ = local_mean_std(volume, 3)
    np.testing.assert_allclose(
        mean3[0, 0].numpy(), ndimage.uniform_filter(volume[0, 0].numpy(), 3)[1:-1, 1:-1, 1:-1], atol=1e-10
    )


def test_kernel_term_is_the_largest_squared_local_mean():
    x = torch.zeros(2, 1, 16, 16)
    x[1, 0, 3:6, 3:6] = 9.0  # one 3 x 3 bump: the best 9 x 9 window averages it to 1
    np.testing.assert_allclose(kernel_mean_max(x, 9).numpy(), [0.0, 1.0], atol=1e-6)


def test_thresholds_hold_the_target_fpr_on_the_training_residuals():
    rng = np.random.default_rng(0)
    residuals = torch.from_numpy(rng.normal(0, 0.01, (2000, 1, 32, 32)).astype(np.float32))
    thresholds = fit_thresholds(residuals, target_fpr=1e-3)
    flagged = decide(residuals, thresholds).flagged
    assert flagged.mean() <= 1e-3
    bumped = residuals[:50].clone()
    bumped[:, :, 10:20, 10:20] += 0.05
    decision = decide(bumped, thresholds)
    assert decision.flagged.all()
    assert decision.cells.shape == (50, 3, 3)  # (32 - 9 + 1) positions in 9 x 9 cells
    assert decision.cells[:, 1, 1].all() and not decision.cells[:, 2, 2].any()
    with pytest.raises(ConfigError, match="target_fpr"):
        fit_thresholds(residuals, target_fpr=0.0)
