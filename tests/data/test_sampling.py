"""Patch positions at the part's surface: the surface voxels against closed forms, and the share of
patches a sampler centres there."""

import numpy as np
import pytest
from scipy import ndimage

from porelab import volume
from porelab.data import PatchConfig, PatchMaker, SamplerConfig, load_scans, scan_pores
from porelab.data.sampling import balanced_corner, pore_voxels, row_rng, surface_voxels
from porelab.errors import ConfigError

from synthetic import write_dataset


@pytest.mark.parametrize("box", [(5, 6, 7), (20, 9, 11), (40, 4, 4)])  # up to three 16-slice slabs
def test_surface_voxels_of_a_box_in_air(box):
    materials = np.zeros((box[0] + 6, box[1] + 6, box[2] + 6), np.uint8)
    materials[3 : 3 + box[0], 3 : 3 + box[1], 3 : 3 + box[2]] = 1
    a, b, c = box
    expected = a * b * c - max(a - 2, 0) * max(b - 2, 0) * max(c - 2, 0)  # the shell one voxel thick
    found = surface_voxels(materials)
    assert len(found) == expected and len({tuple(p) for p in found}) == expected
    assert materials[tuple(found.T)].all()


def test_pores_and_the_volume_border_are_not_surface():
    materials = np.ones((12, 12, 12), np.uint8)  # a block filling the volume: no air, no surface
    labels = np.zeros_like(materials, np.int32)
    materials[5:8, 5:8, 5:8], labels[5:8, 5:8, 5:8] = 0, 1  # an internal pore: inside the part
    assert len(surface_voxels(materials, labels)) == 0
    assert len(surface_voxels(materials)) == 6 * 3 * 3  # without its labels the cavity's wall would count


def _near_surface_share(maker, surface, patch, rows=600):
    centres = np.array([maker._position(r, row_rng(0, r))[1] for r in range(rows)]) + np.array(patch) // 2
    return float(np.mean([np.abs(surface - c).max(axis=1).min() <= patch[0] // 4 for c in centres]))


def test_a_sampler_centres_its_edge_share_on_the_surface(tmp_path):
    scan = np.zeros((64, 64, 64), np.float32)
    scan[8:56, 8:56, 8:56] = 1000.0
    root = write_dataset(tmp_path / "ds", [("box", "train", scan, np.zeros(scan.shape, np.int32))])
    materials = (scan > 0).astype(np.uint8)
    volume.write(materials, root / "box" / "materials.npy", voxel_size=0.01, overwrite=True)
    scans, patch = load_scans(root), (8, 8, 8)
    surface = surface_voxels(materials)
    share = {
        edge: _near_surface_share(
            PatchMaker(
                scans,
                scan_pores(scans),
                PatchConfig(patch=patch, sampler=SamplerConfig("balanced", pore_fraction=0.0, edge_fraction=edge)),
            ),
            surface,
            patch,
        )
        for edge in (0.0, 0.5)
    }
    # half the patches centred within the jitter (patch // 4) of the surface, the other half
    # uniform, landing there as often as the uniform sampler's (binomial sd ~0.02 for 600 rows)
    assert share[0.5] == pytest.approx(0.5 + 0.5 * share[0.0], abs=0.08)
    assert share[0.5] > share[0.0] + 0.25


def test_without_an_edge_share_the_draws_are_unchanged():
    pores = np.array([[10, 10, 10], [3, 4, 5]])
    for row in range(50):
        plain = balanced_corner((32, 32, 32), (8, 8, 8), pores, 0.5, row_rng(0, row))
        assert balanced_corner((32, 32, 32), (8, 8, 8), pores, 0.5, row_rng(0, row), pores, 0.0) == plain
    with pytest.raises(
        ConfigError, match=r"edge_fraction = 0.6; expected a fraction in \[0, 1 - pore_fraction = 0.5\]"
    ):
        SamplerConfig(pore_fraction=0.5, edge_fraction=0.6)


def test_per_pore_sampling_keeps_one_voxel_of_every_pore():
    """Against scipy's component count: a 0/1 mask with a big pore, two small ones and one
    pore spanning two 16-slice slabs (counted once per slab, as documented)."""
    labels = np.zeros((40, 30, 30), np.uint8)
    labels[2:12, 2:12, 2:12] = 1  # 1000 voxels
    labels[5, 20, 20] = 1
    labels[8, 25, 5:7] = 1
    labels[14:18, 20:23, 20:23] = 1  # crosses the slab boundary at z = 16
    coords = pore_voxels(labels, seed=3, per_pore=True)
    _, per_slab = zip(*(ndimage.label(labels[z : z + 16] > 0) for z in range(0, 40, 16)))
    assert len(coords) == sum(per_slab) == 5
    assert labels[tuple(coords.T)].all()
    big = (coords[:, 0] < 12) & (coords[:, 1] < 12)
    assert big.sum() == 1  # voxel weighting would draw the big pore 1000 / 1018 of the time
    assert len(pore_voxels(labels, seed=3)) == int(labels.sum())


def test_an_unknown_pore_weighting_is_refused():
    with pytest.raises(ConfigError, match="pore_weighting"):
        SamplerConfig(pore_weighting="volume")
