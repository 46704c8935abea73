"""The Otsu labeller (Iuso et al., Algorithm 1) against simulated ground truth and scikit-image."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage.filters import threshold_otsu

from porelab.errors import VolumeError
from porelab.evaluate import dice, hits
from porelab.label import drop_thin, otsu_pores
from porelab.simulate.phantoms import PorePopulation, am_cube

GOOD_SNR = 20.0  # metal attenuation / noise standard deviation
GOOD_BLUR = 0.7  # Gaussian sigma in voxels (detector and focal-spot blur)


def good_scan(phantom, seed: int) -> np.ndarray:
    """A good scan without the scanner: attenuation 1 in the part, 0 in air and pores (partial
    volumes included), mild Gaussian blur, Gaussian noise at GOOD_SNR."""
    attenuation = ((phantom.materials > 0) * (1.0 - phantom.pore_fraction)).astype(np.float32)
    blurred = ndimage.gaussian_filter(attenuation, GOOD_BLUR)
    noise = np.random.default_rng(seed).normal(0.0, 1.0 / GOOD_SNR, blurred.shape)
    return (blurred + noise).astype(np.float32)


@pytest.fixture(scope="module")
def good_scans():
    population = PorePopulation(porosity_percent=2.0, diameter_median_vox=4.0)
    phantoms = [am_cube((64, 64, 64), seed=seed, pores=population) for seed in (0, 1)]
    return [(p, otsu_pores(good_scan(p, seed=10 + i))) for i, p in enumerate(phantoms)]


def test_otsu_recovers_90_percent_of_pores_from_4_voxels_on_a_good_scan(good_scans):
    found, total = 0, 0
    for phantom, result in good_scans:
        large = phantom.pores.loc[phantom.pores["equivalent_diameter_vox"] >= 4.0, "id"]
        hit = hits(result.pore_mask, phantom.pore_labels)
        found += int(hit[large].sum())
        total += len(large)
    assert total >= 40
    assert found / total >= 0.90


def test_otsu_pore_mask_overlaps_the_truth_on_a_good_scan(good_scans):
    for phantom, result in good_scans:
        assert dice(result.pore_mask, phantom.pore_mask()) > 0.8


def test_thresholds_are_scikit_image_otsu(good_scans):
    phantom, result = good_scans[0]
    volume = good_scan(phantom, seed=10)
    assert result.object_threshold == pytest.approx(threshold_otsu(volume))
    inside = ndimage.binary_erosion(result.object_mask)
    assert result.pore_threshold == pytest.approx(threshold_otsu(volume[inside]))


def test_object_mask_is_filled_and_labels_are_consecutive(good_scans):
    phantom, result = good_scans[0]
    assert np.array_equal(result.object_mask, ndimage.binary_fill_holes(result.object_mask))
    assert np.array_equal(np.unique(result.pore_labels), np.arange(result.pore_count + 1))
    assert not (result.pore_mask & ~result.object_mask).any()


def test_components_thinner_than_two_voxels_are_dropped():
    labels = np.zeros((10, 10, 10), dtype=np.int32)
    labels[1, 1:6, 1:6] = 1  # a one-voxel-thick plate
    labels[5:7, 5:7, 5:7] = 2  # a 2x2x2 cube
    labels[8:10, 1:3, 8] = 3  # flat in x
    kept = drop_thin(labels, min_extent=2)
    assert np.array_equal(np.unique(kept), [0, 1])
    assert np.array_equal(kept == 1, labels == 2)


def test_a_sphere_in_a_block_is_found_as_one_pore():
    z, y, x = np.ogrid[:40, :40, :40]
    block = np.zeros((40, 40, 40), dtype=np.float32)
    block[5:35, 5:35, 5:35] = 1.0
    block[(z - 20) ** 2 + (y - 18) ** 2 + (x - 22) ** 2 <= 16] = 0.0
    result = otsu_pores(block)
    assert result.pore_count == 1
    assert result.pore_mask.sum() == ((z - 20) ** 2 + (y - 18) ** 2 + (x - 22) ** 2 <= 16).sum()


@pytest.mark.parametrize(
    "volume, words",
    [
        (np.zeros((4, 4)), "3D"),
        (np.ones((4, 4, 4)), "constant"),
        (np.full((4, 4, 4), np.nan), "NaN"),
    ],
)
def test_bad_volumes_raise_clear_errors(volume, words):
    with pytest.raises(VolumeError, match=words):
        otsu_pores(volume)
