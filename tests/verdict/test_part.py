"""The part as the region of interest, against the phantoms' truth (case table below)."""

from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from porelab.errors import VolumeError
from porelab.simulate.phantoms import PorePopulation, am_bushing, am_cube
from porelab.verdict import PartConfig, part_from_mask, segment_part
from porelab.verdict.large_part import CoarsePart, find_part

from synthetic import ct_like

PORES = PorePopulation(porosity_percent=1.0, diameter_median_vox=3.0)


def _bushing():
    """At this scale its threaded hole is 18 voxels wide: wider than the openings the default
    closing (radius 6) takes for surface pores."""
    return am_bushing(shape=(96, 96, 96), seed=1, pores=PORES, supersample=1)


def _bore(phantom):
    """The voxels of the bore: radius under the design's, within the part's height."""
    meta = phantom.metadata
    z, y, x = np.indices(phantom.shape, dtype=np.float32)
    centre = [(n - 1) / 2.0 for n in phantom.shape]
    radial = ((y - centre[1]) ** 2 + (x - centre[2]) ** 2) * phantom.voxel_size[1] ** 2
    inside = np.abs(z - centre[0]) * phantom.voxel_size[0] <= meta["height_mm"] / 2.0 - phantom.voxel_size[0]
    return inside & (radial <= (meta["bore_diameter_mm"] / 2.0 - 1.5 * phantom.voxel_size[1]) ** 2)


def _agreement(found, phantom):
    """(net volume error in surface voxels: the mean shift of the found surface in voxels,
    fraction of true pore voxels inside the found part)."""
    truth = phantom.materials > 0
    pores = phantom.pore_labels > 0
    surface = np.count_nonzero(truth & ~ndimage.binary_erosion(truth))
    return ((int(found.sum()) - int(truth.sum())) / surface, (found & pores).sum() / pores.sum())


# exposure: clean, and 25 % (twice the noise); the surface is found within a quarter voxel on average
@pytest.mark.parametrize("exposure", [1.0, 0.25])
def test_hollow_part_bore_and_thread_are_not_part(exposure):
    phantom = _bushing()
    found = segment_part(ct_like(phantom, exposure=exposure, seed=2))
    shift, covered = _agreement(found.part, phantom)
    assert abs(shift) <= 0.25
    assert covered >= 0.97  # the pores are inside the part (internal and surface-breaking)
    bore = _bore(phantom)
    assert bore.sum() > 1000 and not (found.part & bore).any()  # a bore is not a pore
    air = phantom.materials == 0
    # the threaded hole and the rest of the air stay out: the found surface lies within a voxel of
    # the true one but for a few voxels in the corners of the thread's grooves, none beyond two
    distance = ndimage.distance_transform_edt(air)
    assert np.count_nonzero(found.part & (distance > 1.0)) <= 0.001 * found.part_voxels
    assert not (found.part & (distance > 2.0)).any()


def test_part_touching_the_volume_border_keeps_its_border_pores():
    full = am_cube(shape=(56, 56, 56), seed=4, pores=PorePopulation(porosity_percent=2.0, diameter_median_vox=4.0))
    crop = (slice(12, 56), slice(0, 56), slice(0, 56))  # the cube leaves the volume through z = 0
    phantom = replace(
        full, materials=full.materials[crop], pore_fraction=full.pore_fraction[crop], pore_labels=full.pore_labels[crop]
    )
    assert (phantom.materials[0] > 0).any()
    found = segment_part(ct_like(phantom, seed=5))
    shift, covered = _agreement(found.part, phantom)
    assert abs(shift) <= 0.25 and covered >= 0.97
    cut = np.unique(phantom.pore_labels[0])[1:]  # pores the volume's face cuts
    if len(cut):
        assert found.part[np.isin(phantom.pore_labels, cut)].mean() >= 0.9


def test_two_materials_are_both_part():
    phantom = am_cube(shape=(48, 48, 48), seed=6, pores=PORES)
    materials = phantom.materials.copy()
    materials[:, :, 24:] *= 2  # the cube's other half is a lighter material (label 2)
    phantom = replace(phantom, materials=materials, material_names={0: "air", 1: "steel", 2: "aluminium"})
    found = segment_part(ct_like(phantom, seed=7, attenuation={1: 1.0, 2: 0.3}, halo=0.1))
    assert found.levels.method == "otsu, two materials"  # Otsu alone splits steel from aluminium and air
    for label in (1, 2):
        assert found.part[materials == label].mean() >= 0.97


def test_a_crop_inside_the_part_is_part_everywhere():
    rng = np.random.default_rng(0)
    found = segment_part(1.0 + rng.normal(0, 0.05, (24, 24, 24)).astype(np.float32))
    assert found.part.all() and found.method == "single class: whole volume"


def test_over_budget_the_part_is_found_on_a_block_averaged_copy():
    phantom = _bushing()
    scan = ct_like(phantom, seed=2)
    full = segment_part(scan)
    coarse = find_part(scan, PartConfig(), max_bytes=40 * scan.size // 8)  # 2^3 blocks fit
    assert isinstance(coarse, CoarsePart) and coarse.factor == 2
    upsampled = coarse.part[0 : scan.shape[0]]
    assert upsampled.shape == scan.shape and coarse.part_voxels == int(upsampled.sum())
    assert (upsampled != full.part).mean() < 0.02  # within about a block of the full-resolution surface
    assert not (upsampled & _bore(phantom)).any()
    assert np.array_equal(coarse.part[10:21], upsampled[10:21])  # any z slab reads the same voxels


def test_a_given_mask_is_the_part_and_bad_masks_are_refused():
    mask = np.zeros((8, 8, 8), np.uint8)
    mask[2:6, 2:6, 2:6] = 1
    part = part_from_mask(mask)
    assert part.part_voxels == 64 and part.method == "given part mask"
    assert part.inspected.sum() < 64 and part.inspected[3:5, 3:5, 3:5].all()  # the outer layer is not inspected
    with pytest.raises(VolumeError, match="nonzero"):
        part_from_mask(np.zeros((8, 8, 8)))
