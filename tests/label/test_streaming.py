"""Slab-wise connected components equal whole-array labelling (scipy) and regionprops."""

import numpy as np
import pytest
from skimage import measure

from porelab.label.streaming import streaming_pore_table


@pytest.mark.parametrize("slab", [1, 3, 7, 64])
def test_matches_regionprops_for_any_slab_thickness(slab):
    rng = np.random.default_rng(4)
    mask = rng.random((30, 25, 20)) > 0.8  # many components crossing slab boundaries, some U-shaped
    table = streaming_pore_table(mask, voxel_size=(0.5, 0.1, 0.1), slab=slab)
    regions = measure.regionprops(measure.label(mask, connectivity=1))
    assert len(table) == len(regions)
    got = sorted(
        zip(
            table.voxels,
            table.bbox_z0,
            table.bbox_y0,
            table.bbox_x0,
            table.bbox_z1,
            table.centroid_z.round(6),
            table.centroid_x.round(6),
        )
    )
    want = sorted((r.area, *r.bbox[:3], r.bbox[3], round(r.centroid[0], 6), round(r.centroid[2], 6)) for r in regions)
    assert got == want
    np.testing.assert_allclose(table.volume_mm3.sum(), mask.sum() * 0.005)


def test_u_shape_joined_only_through_a_later_slab():
    mask = np.zeros((6, 5, 5), bool)
    mask[0:5, 1, 1] = mask[0:5, 1, 3] = True  # two columns ...
    mask[5, 1, 1:4] = True  # ... joined at the bottom
    assert len(streaming_pore_table(mask, slab=2)) == 1


def test_empty_mask():
    table = streaming_pore_table(np.zeros((4, 4, 4), bool))
    assert len(table) == 0 and "equivalent_diameter_mm" in table.columns
