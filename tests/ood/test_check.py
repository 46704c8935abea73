"""The artefact checks every scan gets: a raster pattern, rings about the rotation axis and an
interpolated (upsampled or smoothed) volume are flagged, scans like the training data (a
cylinder about the axis included) are not; a model folder without its own detector gets them."""

import json
from pathlib import Path

import numpy as np
import pytest

from porelab.errors import ConfigError
from porelab.ood.check import (
    RING_MARGIN,
    InterpolationCheck,
    RasterCheck,
    RingCheck,
    neighbour_correlation,
    ring_calibration,
    ring_spikes,
    scan_check,
)
from porelab.ood.synthetic import raster
from porelab.ood.volume_sets import resampled, with_rings

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
    texture, rings, interpolation = (check(_scan(0)) for check in (RasterCheck(), RingCheck(), InterpolationCheck()))
    without_reasons = lambda result: {k: v for k, v in result.items() if k != "reasons"}  # noqa: E731
    assert check(_scan(0), None) == {
        **texture,
        "truncated_sides": [],
        "texture": without_reasons(texture),
        "rings": without_reasons(rings),
        "interpolation": without_reasons(interpolation),
    }


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


def test_one_ring_of_known_offset_is_its_spike_and_a_monotone_profile_has_none():
    yy, xx = np.mgrid[:96, :96]
    radius = np.rint(np.hypot(yy - 48, xx - 48))
    image = np.where(radius < 35, 1.0, 0.0) + np.where(radius == 20, 0.05, 0.0)
    spikes = ring_spikes(image, (48.0, 48.0))
    assert spikes.max() == pytest.approx(0.05, abs=1e-12)  # the ring at radius 20: |0.05 - 0| - 0
    assert np.argmax(spikes) == 20 - 3 + 1 - 1  # radii 3, 4, ... (the first `skip` are left out)
    smooth = 1.0 / (1.0 + np.exp((np.hypot(yy - 48, xx - 48) - 35) / 1.5))  # a blurred edge about the axis
    assert ring_spikes(smooth, (48.0, 48.0)).max() < 2e-3


@pytest.mark.parametrize("seed", range(3))
def test_rings_about_the_axis_are_flagged_and_a_cylinder_about_it_is_not(seed):
    cylinder = _part_in_air(seed, False)
    assert not RingCheck()(cylinder)["is_ood"]
    result = RingCheck()(with_rings(cylinder.astype(np.float32), 0.1, seed))
    assert result["is_ood"] and result["score"] > 1.5
    assert len(result["reasons"]) == 1 and result["reasons"][0].startswith("ring artefacts")


@pytest.mark.parametrize("seed", range(3))
def test_white_noise_has_the_closed_form_residual_correlation_and_smoothed_noise_a_high_one(seed):
    """For white noise n the residual is h * n with h = delta - g (g: the Gaussian kernel), whose
    lag-1 correlation is sum h(i) h(i + 1) / sum h(i)^2 = -0.091 at sigma 1.5. The flat-half mask
    leans it by about -0.022 (it keeps pixels whose smoothed neighbourhood varies least):
    tolerance 0.03 (seeds 0-2 measured -0.112 to -0.114)."""
    from scipy import ndimage

    delta = np.zeros((41, 41))
    delta[20, 20] = 1.0
    h = delta - ndimage.gaussian_filter(delta, 1.5)
    expected = (h[:, 1:] * h[:, :-1]).sum() / (h * h).sum()
    noise = np.random.default_rng(seed).normal(size=(16, 128, 128))
    assert neighbour_correlation(noise) == pytest.approx(expected, abs=0.03)
    assert neighbour_correlation(ndimage.gaussian_filter(noise, (0, 1, 1))) > 0.5


@pytest.mark.parametrize("seed", range(3))
def test_an_upsampled_volume_is_flagged_and_the_scan_and_a_coarser_copy_are_not(seed):
    scan = _part_in_air(seed, seed % 2 == 0).astype(np.float32)
    assert not InterpolationCheck()(scan)["is_ood"]
    assert not InterpolationCheck()(resampled(scan, 0.5))["is_ood"]  # subsampling keeps the noise white
    for factor in (1.5, 2.0):
        result = InterpolationCheck()(resampled(scan, factor))
        assert result["is_ood"] and result["score"] > 1.2
        assert len(result["reasons"]) == 1 and result["reasons"][0].startswith("interpolated")


def _cylinder_with_rings(offset):
    """A noise-free cylinder of grey 1 in air (0) about the axis, with rings of `offset` at radii
    12, 20 and 28: each ring is a spike of exactly `offset` in the radial profile."""
    yy, xx = np.mgrid[:96, :96]
    radius = np.rint(np.hypot(yy - 48, xx - 48))
    image = np.where(radius < 35, 1.0, 0.0) + offset * np.isin(radius, (12, 20, 28))
    return np.repeat(image[None], 8, axis=0)


def test_a_models_ring_threshold_is_a_margin_over_its_training_scans_rings():
    """The rings occupy 4 % of the pixels, so the grey span (0.5-99.5 %) is 1 + offset and the
    ring strength offset / (1 + offset): 0.05 / 1.05 here, and the threshold 1.25 x that."""
    plain, ringed = _cylinder_with_rings(0.0), _cylinder_with_rings(0.05)
    assert RingCheck()(ringed)["ring_strength"] == pytest.approx(0.05 / 1.05, rel=1e-5)  # float32 slices
    calibration = ring_calibration([plain, ringed])
    assert calibration["ring_threshold"] == pytest.approx(RING_MARGIN * 0.05 / 1.05, rel=1e-5)
    assert ring_calibration([plain])["ring_threshold"] == RingCheck.threshold  # never below the default
    assert RingCheck()(ringed)["is_ood"]  # rings a model without a calibration never saw
    assert not RingCheck(threshold=calibration["ring_threshold"])(ringed)["is_ood"]  # its training scans had them
    with pytest.raises(ConfigError, match="no training scans"):
        ring_calibration([])


def test_scan_check_reads_the_ring_threshold_its_model_folder_records(tmp_path):
    assert scan_check(tmp_path / "model.pt").rings.threshold == RingCheck.threshold  # no config.json
    (tmp_path / "config.json").write_text(json.dumps({"ood_detector": {"ring_threshold": 0.042}}))
    assert scan_check(tmp_path / "model.pt").rings.threshold == 0.042
    (tmp_path / "config.json").write_text(json.dumps({"ood_detector": {"ring_threshold": -1}}))
    with pytest.raises(
        ConfigError, match=r"config.json: field 'ood_detector.ring_threshold' = -1; expected a positive"
    ):
        scan_check(tmp_path / "model.pt")


def test_the_bundled_detector_records_the_rings_of_its_training_scans():
    from porelab.bundled import bundled_model

    check = scan_check(bundled_model("porelab-am"))
    assert 0.01 < check.rings.threshold < 0.1  # am-randomized's training scans reach 0.033 (AlSi10Mg parts)
