"""From a score map to the verdict: hysteresis, classes, sizes, porosity, and nothing in the air."""

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage
from skimage.filters import apply_hysteresis_threshold

from porelab.simulate.phantoms import PorePopulation, am_bushing
from porelab.verdict import INTERNAL, SURFACE, OperatingPoint, class_mask, judge, segment_part
from porelab.verdict.part import PartSegmentation

from synthetic import ct_like


def _whole(shape):
    """Every voxel is part and inspected; none is on the open surface."""
    ones = np.ones(shape, bool)
    return PartSegmentation(ones, ones, np.zeros(shape, bool), None, "test")


def _smooth_field(shape, seed):
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.random(shape), 2.0)
    return ((field - field.min()) / (field.max() - field.min())).astype(np.float32)


@pytest.mark.parametrize("low, high", [(0.55, 0.75), (0.6, 0.6), (0.4, 0.9)])
def test_hysteresis_matches_scikit_image(low, high):
    score = _smooth_field((40, 36, 32), seed=1)
    point = OperatingPoint(threshold=high, low_threshold=low, axis_guard_vox=0.0)  # hysteresis alone
    mask, verdict = class_mask(score, _whole(score.shape), point)
    # scikit-image keeps voxels > low connected (faces, like ours) to a voxel > high; the field
    # is continuous, so >= and > differ on no voxel
    np.testing.assert_array_equal(mask > 0, apply_hysteresis_threshold(score, low, high))
    assert verdict.pore_voxels == int(np.count_nonzero(mask))


def test_streamed_slabs_give_the_in_memory_verdict():
    score = _smooth_field((37, 30, 30), seed=2)
    point = OperatingPoint(threshold=0.7, low_threshold=0.5, min_diameter_vox=3.0)
    part = _whole(score.shape)
    mask, whole = class_mask(score, part, point)
    decision = judge(score, part, point, slab=5)
    np.testing.assert_array_equal(decision[0:37], mask)
    np.testing.assert_array_equal(decision[3:19], mask[3:19])  # slabs across the 5-slice steps
    pd.testing.assert_frame_equal(decision.verdict.pores, whole.pores)
    pd.testing.assert_frame_equal(decision.verdict.indications, whole.indications)


def test_small_regions_are_indications_and_porosity_counts_pores_over_the_part():
    score = np.zeros((20, 20, 20), np.float32)
    score[2:7, 2:7, 2:7] = 0.9  # 125 voxels: equivalent diameter 6.2
    score[12, 12, 12] = 0.9  # 1 voxel: 1.24
    score[15:17, 3:5, 3:5] = 0.4  # below the seed threshold: nothing
    mask, verdict = class_mask(
        score, _whole(score.shape), OperatingPoint(0.8, 0.3, min_diameter_vox=2.0), voxel_size=(0.1, 0.1, 0.1)
    )
    assert len(verdict.pores) == 1 and verdict.pores.voxels.item() == 125
    assert len(verdict.indications) == 1 and verdict.indications.voxels.item() == 1
    assert mask[12, 12, 12] == 0 and (mask[2:7, 2:7, 2:7] == INTERNAL).all()
    assert verdict.porosity_percent == pytest.approx(100 * 125 / 8000)
    summary = verdict.summary()
    assert summary["part_volume_mm3"] == pytest.approx(8.0) and summary["indications_below_detection_limit"] == 1
    assert summary["pore_volume_mm3"] == pytest.approx(0.125)


@pytest.fixture(scope="module")
def bushing():
    """A hollow part with internal and surface-breaking pores, its CT-like scan and the part found."""
    phantom = am_bushing(
        shape=(96, 96, 96),
        seed=3,
        supersample=1,
        pores=PorePopulation(porosity_percent=1.5, diameter_median_vox=4.0, diameter_min_vox=2.5),
    )
    scan = ct_like(phantom, seed=4)
    return phantom, scan, segment_part(scan)


def test_surface_and_internal_classes_follow_the_phantom(bushing):
    phantom, _, part = bushing
    score = (phantom.pore_labels > 0).astype(np.float32)  # a perfect network
    mask, verdict = class_mask(score, part, OperatingPoint(0.5), phantom.voxel_size)
    truth = phantom.pores.set_index("id")
    agree = total = 0
    for pore_id, row in truth.iterrows():
        found = mask[phantom.pore_labels == pore_id]
        if not found.any():
            continue
        total += 1
        called = SURFACE if (found == SURFACE).any() else INTERNAL
        agree += called == (SURFACE if row.defect_class == "surface" else INTERNAL)
    assert total >= 0.9 * len(truth)
    assert (truth.defect_class == "surface").sum() >= 3 and (truth.defect_class == "internal").sum() >= 10
    assert agree >= 0.9 * total
    assert set(verdict.pores.defect_class) == {"internal", "surface"}


def test_no_pore_voxel_in_the_air_of_a_scan_with_edge_artefacts(bushing):
    phantom, scan, part = bushing
    # a network that fires on every grey-value edge (the faces, the bore, the thread, the halos
    # and streaks in the air) as much as on the pores
    edges = ndimage.gaussian_gradient_magnitude(scan, 1.0)
    score = np.maximum(edges / edges.max(), (phantom.pore_labels > 0).astype(np.float32))
    mask, verdict = class_mask(score, part, OperatingPoint(0.3, 0.2), phantom.voxel_size)
    inside = (phantom.materials > 0) | (phantom.pore_labels > 0)
    assert np.count_nonzero((edges / edges.max() >= 0.3) & ~inside) > 10000  # it does fire in the air
    assert np.count_nonzero((mask > 0) & ~inside) == 0
    assert verdict.pore_voxels > 0
