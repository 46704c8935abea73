"""AM cylinder and cube phantoms: the contract with the scanner, sizes, pore kinds and surfaces."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from porelab.errors import ConfigError
from porelab.simulate.phantoms import Phantom, PorePopulation, am_cube, am_cylinder

CONTRACT_COLUMNS = {
    "id",
    "kind",
    "centroid_z",
    "centroid_y",
    "centroid_x",
    "bbox_z0",
    "bbox_y0",
    "bbox_x0",
    "bbox_z1",
    "bbox_y1",
    "bbox_x1",
    "voxels",
    "equivalent_diameter_vox",
    "touches_surface",
    "defect_class",
}


@pytest.fixture(scope="module")
def cylinder() -> Phantom:
    return am_cylinder(
        (96, 32, 32),
        material="CoCr",
        seed=4,
        pores=PorePopulation(porosity_percent=1.5, diameter_median_vox=3.0, surface_fraction=0.3),
    )


@pytest.fixture(scope="module")
def cube() -> Phantom:
    return am_cube(
        (64, 64, 64),
        material="316L",
        seed=2,
        pores=PorePopulation(
            porosity_percent=2.0, diameter_median_vox=5.0, kinds={"gas": 1, "keyhole": 1, "lack_of_fusion": 1}
        ),
    )


def test_phantom_fields_follow_the_contract(cylinder):
    p = cylinder
    assert p.materials.dtype == np.uint8 and p.pore_fraction.dtype == np.float32
    assert p.pore_labels.dtype == np.int32
    assert p.materials.shape == p.pore_fraction.shape == p.pore_labels.shape == (96, 32, 32)
    assert p.material_names == {0: "air", 1: "CoCr"}
    assert set(np.unique(p.materials)) == {0, 1}
    assert CONTRACT_COLUMNS <= set(p.pores.columns)
    assert 0.0 <= p.pore_fraction.min() and p.pore_fraction.max() <= 1.0
    assert p.seed == 4 and len(p.voxel_size) == 3


def test_labels_are_the_voxels_at_least_half_void_inside_the_part(cylinder):
    p = cylinder
    assert np.array_equal(p.pore_labels > 0, (p.pore_fraction >= 0.5) & (p.materials > 0))
    assert not (p.pore_fraction[p.materials == 0] > 0).any()
    assert sorted(p.pores["id"]) == list(range(1, p.pore_labels.max() + 1))
    assert (p.pores.set_index("id")["voxels"] == np.bincount(p.pore_labels.ravel())[1:]).all()


def test_cylinder_has_the_papers_proportions(cylinder):
    p = cylinder
    voxel = p.voxel_size[0]
    height = np.ptp(np.flatnonzero(p.materials.any(axis=(1, 2)))) + 1
    width = np.ptp(np.flatnonzero(p.materials.any(axis=(0, 1)))) + 1
    assert height * voxel == pytest.approx(20.0, abs=1.5 * voxel)
    assert width * voxel == pytest.approx(5.0, abs=1.5 * voxel)


def test_cube_is_9_mm(cube):
    voxel = cube.voxel_size[0]
    side = np.ptp(np.flatnonzero(cube.materials.any(axis=(1, 2)))) + 1
    assert side * voxel == pytest.approx(9.0, abs=1.5 * voxel)


def test_porosity_reaches_the_target(cylinder, cube):
    for p in (cylinder, cube):
        target = p.metadata["porosity_target_percent"]
        assert p.metadata["porosity_percent"] == pytest.approx(target, rel=0.1)
        void = p.pore_fraction.sum() / (p.materials > 0).sum() * 100.0
        assert void == pytest.approx(p.metadata["porosity_percent"])


def test_pores_never_touch_each_other(cube):
    pieces, _ = ndimage.label(cube.pore_fraction > 0, structure=np.ones((3, 3, 3)))
    owners = {}
    for piece, label in zip(pieces[cube.pore_labels > 0], cube.pore_labels[cube.pore_labels > 0]):
        owners.setdefault(piece, set()).add(label)
    assert all(len(ids) == 1 for ids in owners.values())


def test_pore_kinds_have_their_shapes(cube):
    t = cube.pores
    table = t.assign(dz=t.bbox_z1 - t.bbox_z0, dxy=((t.bbox_y1 - t.bbox_y0) + (t.bbox_x1 - t.bbox_x0)) / 2)
    large = table[table.equivalent_diameter_vox >= 5]
    keyhole, flat = large[large.kind == "keyhole"], large[large.kind == "lack_of_fusion"]
    gas = large[large.kind == "gas"]
    assert len(keyhole) >= 3 and len(flat) >= 3 and len(gas) >= 3
    assert (keyhole.dz > keyhole.dxy).mean() >= 0.8  # elongated along the build direction
    assert (flat.dz < 0.6 * flat.dxy).mean() >= 0.8  # flat between layers
    assert gas.sphericity.median() > flat.sphericity.median()


def test_surface_pores_break_the_surface(cylinder):
    table = cylinder.pores
    assert (table.defect_class == "surface").sum() >= 2
    assert ((table.defect_class == "surface") == table.touches_surface).all()
    surface_ids = table.loc[table.touches_surface, "id"].to_numpy()
    air_next = ndimage.binary_dilation(cylinder.materials == 0) & (cylinder.materials > 0)
    assert set(np.unique(cylinder.pore_labels[air_next])) - {0} == set(surface_ids)


def test_same_seed_same_phantom_other_seed_other_pores():
    population = PorePopulation(porosity_percent=1.0)
    a = am_cube((40, 40, 40), seed=7, pores=population)
    b = am_cube((40, 40, 40), seed=7, pores=population)
    c = am_cube((40, 40, 40), seed=8, pores=population)
    assert np.array_equal(a.pore_fraction, b.pore_fraction)
    assert not np.array_equal(a.pore_labels, c.pore_labels)


def test_sizes_stay_in_the_configured_range():
    p = am_cube(
        (64, 64, 64),
        seed=1,
        pores=PorePopulation(
            porosity_percent=1.0, kinds={"gas": 1.0}, diameter_min_vox=3.0, diameter_max_vox=6.0, surface_fraction=0.0
        ),
    )
    # spheres: the labelled equivalent diameter follows the drawn one within a voxel
    assert p.pores.equivalent_diameter_vox.between(2.0, 7.0).all()
    assert p.pores.equivalent_diameter_vox.max() > 4.5


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: am_cylinder(material="Gold"), "material"),
        (lambda: am_cube(shape=(64, 64)), "shape"),
        (lambda: am_cylinder(shape=(16, 16, 16)), "too small"),
        (lambda: PorePopulation(porosity_percent=-1.0), "porosity_percent"),
        (lambda: PorePopulation(kinds={"bubble": 1.0}), "kinds"),
        (lambda: PorePopulation(diameter_min_vox=5.0, diameter_max_vox=2.0), "diameter_min_vox"),
    ],
)
def test_bad_settings_raise_config_errors(call, words):
    with pytest.raises(ConfigError, match=words):
        call()


def test_an_unreachable_porosity_stops_and_reports_what_was_reached():
    p = am_cube(
        (24, 24, 24),
        seed=0,
        pores=PorePopulation(porosity_percent=45.0, diameter_min_vox=6.0, diameter_max_vox=8.0, kinds={"gas": 1.0}),
    )
    assert 0.0 < p.metadata["porosity_percent"] < 45.0
    assert p.metadata["porosity_target_percent"] == 45.0
