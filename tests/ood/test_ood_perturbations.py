"""Synthetic OOD types and real defect cut-outs."""

from __future__ import annotations

import numpy as np
import pytest

from porelab.errors import ConfigError
from porelab.ood import OOD_TYPES, cut_indications, paste, synthetic_ood
from porelab.simulate.phantoms import weld_radiograph


@pytest.mark.parametrize("kind", sorted(OOD_TYPES))
def test_each_type_has_its_amplitude_and_is_reproducible(kind):
    first = synthetic_ood(kind, (48, 48), np.random.default_rng(3), amplitude=0.1)
    again = synthetic_ood(kind, (48, 48), np.random.default_rng(3), amplitude=0.1)
    np.testing.assert_array_equal(first, again)
    assert first.max() == pytest.approx(0.1, rel=1e-5) and first.min() >= 0
    covered = (first > 0.05).mean()
    assert (covered > 0.15) if kind == "raster" else (0.003 < covered < 0.3)


def test_unknown_type_is_refused():
    with pytest.raises(ConfigError, match="raster"):
        synthetic_ood("zigzag", (32, 32), np.random.default_rng(0))


def test_cutouts_have_a_zero_mean_border_and_paste_adds_them():
    radiograph = weld_radiograph(seed=1)
    cutouts = cut_indications(radiograph)
    assert len(cutouts) == len(radiograph.indications)
    for cut in cutouts:
        border = np.concatenate([cut[0], cut[-1], cut[1:-1, 0], cut[1:-1, -1]])
        assert abs(border.mean()) < 1e-5
    patch = np.full((64, 64), 0.5, np.float32)
    small = np.arange(12, dtype=np.float32).reshape(3, 4)
    pasted, mask = paste(patch, small, np.random.default_rng(0), contrast=0.5)
    assert mask.sum() == 12
    np.testing.assert_allclose(pasted[mask].reshape(3, 4), 0.5 + 0.5 * small)
    assert (pasted[~mask] == 0.5).all()
    big, big_mask = paste(np.zeros((8, 8), np.float32), np.ones((20, 5), np.float32), np.random.default_rng(0))
    assert big_mask.sum() == 40
