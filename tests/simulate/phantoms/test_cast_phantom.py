"""The cast aluminium housing: bore, threaded hole, thin walls, gas and shrinkage defects."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from porelab.simulate.phantoms import HousingDesign, cast_aluminium


@pytest.fixture(scope="module")
def housing():
    return cast_aluminium((80, 64, 96), seed=5)


def test_housing_follows_the_contract(housing):
    assert housing.name == "cast-aluminium"
    assert housing.material_names == {0: "air", 1: "AlSi7Mg"}
    assert housing.materials.dtype == np.uint8 and housing.pore_labels.dtype == np.int32
    assert np.array_equal(housing.pore_labels > 0, (housing.pore_fraction >= 0.5) & (housing.materials > 0))


def _part_start(housing) -> np.ndarray:
    """First part voxel index along z, y, x."""
    solid = housing.materials > 0
    others = [tuple(a for a in range(3) if a != k) for k in range(3)]
    return np.array([np.flatnonzero(solid.any(axis=axes))[0] for axes in others])


def test_bore_runs_through_and_has_its_diameter(housing):
    design, voxel = HousingDesign(), housing.voxel_size[0]
    start = _part_start(housing)
    air = housing.materials == 0
    part_rows = np.flatnonzero(housing.materials.any(axis=(1, 2)))
    through = air[part_rows[0] : part_rows[-1] + 1].all(axis=0)
    footprint = ndimage.binary_fill_holes(housing.materials.any(axis=0))
    # the bore lies in the first 18 mm along x (the threaded hole and pocket beyond)
    bore = (through & footprint)[:, : start[2] + int(18.0 / voxel)]
    assert bore.sum() * voxel**2 == pytest.approx(np.pi * design.bore_radius_mm**2, rel=0.1)


def test_pocket_walls_are_two_mm_thin(housing):
    design, voxel = HousingDesign(), housing.voxel_size[0]
    part_rows = np.flatnonzero(housing.materials.any(axis=(1, 2)))
    top = housing.materials[part_rows[-1] - 2] > 0  # a slice through the pocket
    pocket_col = _part_start(housing)[2] + int(28.0 / voxel)
    profile = top[:, pocket_col]
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, profile.astype(int), 0])))[::2]
    assert len(runs) == 2
    assert runs * voxel == pytest.approx([design.wall_mm] * 2, abs=1.01 * voxel)


def test_thread_is_helical(housing):
    """The hole's radius along a fixed direction changes with depth with the thread's pitch,
    and the profile at 90 degrees is shifted by a quarter pitch (a helix, not rings)."""
    from porelab.simulate.phantoms.cast import _threaded_hole

    design = HousingDesign()
    z = np.linspace(0.0, 6.0, 600)
    profile_0 = _threaded_hole(z, np.zeros_like(z), np.full_like(z, 4.6), design)
    profile_90 = _threaded_hole(z, np.full_like(z, 4.6), np.zeros_like(z), design)
    spectrum = np.abs(np.fft.rfft(profile_0 - profile_0.mean()))
    assert 6.0 / np.argmax(spectrum) == pytest.approx(design.thread_pitch_mm, rel=0.05)
    shift = 0.01 * np.argmax([np.sum(profile_0 == np.roll(profile_90, k)) for k in range(150)])
    quarter = design.thread_pitch_mm / 4.0  # the ISO profile is symmetric: P/4 or 3P/4
    assert min(abs(shift - quarter), abs(shift - 3 * quarter)) < 0.03
    assert housing.voxel_size[0] < design.thread_pitch_mm / 3  # the default grid resolves it


def test_gas_and_shrinkage_defects_in_both_classes(housing):
    table = housing.pores
    assert set(table.kind) == {"gas", "shrinkage"}
    assert set(table.defect_class) == {"internal", "surface"}
    shrink, gas = table[table.kind == "shrinkage"], table[table.kind == "gas"]
    assert shrink.sphericity.median() < gas.sphericity.median()  # branched, not round
