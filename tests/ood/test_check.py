"""The fallback OOD check: a raster pattern is flagged, scans like the training data are not; a
model folder without its own detector gets it."""

from pathlib import Path

import numpy as np
import pytest

from porelab.ood.synthetic import raster
from porelab.ood.check import RasterCheck, scan_check

from synthetic import sphere_scan


def _scan(seed, shape=(48, 64, 64)):
    rng = np.random.default_rng(seed)
    centres = [tuple(int(rng.integers(6, n - 6)) for n in shape) for _ in range(5)]
    return sphere_scan(shape, centres, 4, seed=seed)[0]


def _part_in_air(seed, square):
    """A cylinder or a box (flat faces give straight spectral streaks, not peaks) in air."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:96, :96]
    inside = (abs(yy - 48) < 30) & (abs(xx - 45) < 33) if square else np.hypot(yy - 48, xx - 48) < 35
    return np.where(inside, 1000.0, 50.0)[None] + rng.normal(0, 60, (32, 96, 96))


@pytest.mark.parametrize("seed", range(3))
def test_scans_like_the_training_data_are_in_distribution(seed):
    for data in (_scan(seed), _part_in_air(seed, False), _part_in_air(seed, True)):
        result = RasterCheck()(data)
        assert not result["is_ood"] and result["score"] < 0.5


@pytest.mark.parametrize("seed", range(3))
def test_a_raster_pattern_is_flagged(seed):
    scan = _scan(seed)
    pattern = raster(scan.shape[1:], np.random.default_rng(seed))  # Lindgren & Zach's raster indication
    result = RasterCheck()(scan + 150 * pattern[None])  # a fifth of the part/pore contrast
    assert result["is_ood"] and result["score"] > 2
    assert len(result["reasons"]) == 1 and result["reasons"][0].startswith("periodic texture")


def test_a_model_folder_without_its_own_detector_gets_the_texture_check(tmp_path):
    check = scan_check(tmp_path / "model.pt")
    assert check.detector_path is None
    assert check(_scan(0), None) == {**RasterCheck()(_scan(0)), "truncated_sides": []}


def test_a_part_cut_by_the_field_of_view_is_flagged_with_its_sides():
    from porelab.ood.check import truncated_sides

    part = np.zeros((20, 30, 40), bool)
    part[:, 5:25, 5:35] = True
    assert truncated_sides(part) == []
    part[:, 5:25, 0:5] = True  # runs out of the volume at x = 0
    assert truncated_sides(part) == ["x = 0: 67 %"]  # 20 of 30 rows on every slice
    result = scan_check(Path("/nonexistent/model.pt"))(_part_in_air(0, True)[:20, :30, :40], None, part)
    assert result["is_ood"] and result["truncated_sides"] == ["x = 0: 67 %"]
    assert result["reasons"][-1].startswith("truncated: the part covers the volume's side faces (x = 0: 67 %)")
