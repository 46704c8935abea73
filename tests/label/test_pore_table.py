"""The pore table against scikit-image regionprops and closed forms."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from skimage.measure import label as sk_label
from skimage.measure import regionprops

from porelab.errors import VolumeError
from porelab.label import COLUMNS, pore_table
from porelab.simulate.phantoms import PorePopulation, am_cube


@pytest.fixture(scope="module")
def phantom():
    return am_cube((56, 56, 56), seed=3, pores=PorePopulation(porosity_percent=3.0))


def test_pore_table_matches_regionprops(phantom):
    spacing = (0.02, 0.03, 0.05)
    table = pore_table(phantom.pore_labels, voxel_size=spacing, object_mask=phantom.materials > 0).table.set_index("id")
    props = {p.label: p for p in regionprops(phantom.pore_labels)}
    scaled = {p.label: p for p in regionprops(phantom.pore_labels, spacing=spacing)}
    assert sorted(props) == list(table.index)
    for pore_id, prop in props.items():
        row = table.loc[pore_id]
        assert np.allclose([row.centroid_z, row.centroid_y, row.centroid_x], prop.centroid)
        assert [row.bbox_z0, row.bbox_y0, row.bbox_x0, row.bbox_z1, row.bbox_y1, row.bbox_x1] == list(prop.bbox)
        assert row.voxels == prop.area
        assert row.equivalent_diameter_vox == pytest.approx(prop.equivalent_diameter_area)
        assert row.volume_mm3 == pytest.approx(scaled[pore_id].area)
        assert row.equivalent_diameter_mm == pytest.approx(scaled[pore_id].equivalent_diameter_area)


def test_a_mask_is_split_into_6_connected_components():
    rng = np.random.default_rng(0)
    mask = rng.random((20, 20, 20)) > 0.8
    table = pore_table(mask).table
    reference = sk_label(mask, connectivity=1)
    assert len(table) == reference.max()
    assert table["voxels"].sum() == mask.sum()
    assert len(pore_table(mask, connectivity=26).table) == sk_label(mask, connectivity=3).max()


def test_one_instance_in_several_pieces_stays_one_pore():
    labels = np.zeros((12, 12, 12), dtype=np.int32)
    labels[2:4, 2:4, 2:4] = 5
    labels[8:10, 8:10, 8:10] = 5
    table = pore_table(labels).table
    assert list(table["id"]) == [5] and table["voxels"].iloc[0] == 16


def test_sphericity_of_a_ball_is_near_one_and_of_a_rod_lower():
    z, y, x = np.ogrid[:30, :30, :30]
    ball = (z - 15) ** 2 + (y - 15) ** 2 + (x - 15) ** 2 <= 100
    rod = np.zeros_like(ball)
    rod[3:27, 14:17, 14:17] = True
    ball_row = pore_table(ball).table.iloc[0]
    # marching cubes on a binary voxel set keeps some staircase: its area of a radius-10 ball
    # is ~9 % above 4 pi r^2, so the ball's sphericity is ~0.91 (stated in label.sphericity)
    assert ball_row.surface_area_mm2 == pytest.approx(4 * np.pi * 10.0**2, rel=0.12)
    assert 0.87 < ball_row.sphericity <= 1.0
    # a 3 x 3 x 24 rod: closed-form sphericity of that box is 0.50; the mesh cuts its edges
    assert pore_table(rod).table.iloc[0].sphericity < 0.7


def test_distance_to_surface_touching_and_porosity_closed_form():
    part = np.zeros((30, 30, 30), dtype=bool)
    part[5:25, 5:25, 5:25] = True
    pores = np.zeros((30, 30, 30), dtype=np.int32)
    pores[10:12, 12:14, 12:14] = 1  # 5 voxels from the face at z=4 (outside)
    pores[5:7, 15:17, 15:17] = 2  # on the face z=5: touches the surface
    result = pore_table(pores, voxel_size=(0.5, 0.5, 0.5), object_mask=part)
    table = result.table.set_index("id")
    assert table.loc[1, "distance_to_surface_mm"] == pytest.approx(6 * 0.5)
    assert not table.loc[1, "touches_surface"]
    assert table.loc[2, "distance_to_surface_mm"] == pytest.approx(0.5)
    assert table.loc[2, "touches_surface"]
    assert result.porosity_percent == pytest.approx(100.0 * 16 / 20**3)


def test_without_an_object_the_array_border_is_the_surface():
    mask = np.zeros((10, 10, 10), dtype=bool)
    mask[0:2, 4:6, 4:6] = True
    row = pore_table(mask).table.iloc[0]
    assert row.touches_surface and row.distance_to_surface_mm == pytest.approx(1.0)


def test_volume_gives_mean_intensity_and_the_otsu_object():
    volume = np.zeros((20, 20, 20), dtype=np.float32)
    volume[3:17, 3:17, 3:17] = 2.0
    volume[8:11, 8:11, 8:11] = 0.5
    result = pore_table((volume < 1.0) & (volume > 0), volume=volume)
    assert result.table["mean_intensity"].iloc[0] == pytest.approx(0.5)
    assert result.porosity_percent == pytest.approx(100.0 * 27 / 14**3)


def test_empty_mask_gives_an_empty_table_with_all_columns():
    result = pore_table(np.zeros((8, 8, 8), dtype=bool))
    assert list(result.table.columns) == list(COLUMNS)
    assert len(result.table) == 0 and result.porosity_percent == 0.0


def test_table_round_trips_through_parquet(phantom):
    table = phantom.pores
    buffer = io.BytesIO()
    table.to_parquet(buffer)
    back = pd.read_parquet(io.BytesIO(buffer.getvalue()))
    pd.testing.assert_frame_equal(back, table)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(VolumeError, match="integer labels"):
        pore_table(np.zeros((4, 4, 4), dtype=np.float32))
    with pytest.raises(VolumeError, match="voxel_size"):
        pore_table(np.zeros((4, 4, 4), dtype=bool), voxel_size=(1.0, 0.0, 1.0))
    with pytest.raises(VolumeError, match="object_mask"):
        pore_table(np.zeros((4, 4, 4), dtype=bool), object_mask=np.ones((4, 4, 5), bool))
