"""The glass-fibre PA66 composite: three phases, fibre size and orientation, pores in the matrix."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from porelab.errors import ConfigError
from porelab.simulate.phantoms import FibreLayout, composite


@pytest.fixture(scope="module")
def block():
    return composite((64, 64, 64), seed=1)


def test_three_phases(block):
    assert block.material_names == {0: "air", 1: "PA66", 2: "E-glass"}
    assert set(np.unique(block.materials)) == {1, 2}  # a block cut from inside: no air
    assert block.pore_labels.max() > 0
    assert not (block.pore_fraction[block.materials == 2] > 0).any()  # pores lie in the matrix


def test_fibre_fraction_and_diameter(block):
    layout = FibreLayout()
    fibres = block.materials == 2
    assert fibres.mean() == pytest.approx(layout.volume_fraction, abs=0.03)
    # fibres run along x: their cross-sections in a (z, y) slice are discs of ~10 um
    labels, n = ndimage.label(fibres[:, :, 32])
    areas = np.bincount(labels.ravel())[1:]
    diameter_um = 2.0 * np.sqrt(np.median(areas) / np.pi) * layout.voxel_size_um
    assert diameter_um == pytest.approx(layout.diameter_um, rel=0.2)


def test_fibres_follow_the_preferred_direction(block):
    fibres = block.materials == 2
    # run lengths along x are much longer than along z
    along_x = np.diff(fibres.astype(np.int8), axis=2) != 0
    along_z = np.diff(fibres.astype(np.int8), axis=0) != 0
    assert along_z.sum() > 3 * along_x.sum()


def test_bad_fibre_settings_raise():
    with pytest.raises(ConfigError, match="volume_fraction"):
        FibreLayout(volume_fraction=0.9)
    with pytest.raises(ConfigError, match="direction"):
        FibreLayout(direction=(0.0, 0.0, 0.0))
