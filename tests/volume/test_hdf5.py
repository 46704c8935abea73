"""HDF5 datasets and APS data-exchange projections."""

import h5py
import numpy as np
import pytest

from porelab import volume
from porelab.errors import VolumeError


def test_named_dataset_is_sliced_lazily(tmp_path, grey_volume):
    path = tmp_path / "v.h5"
    with h5py.File(path, "w") as f:
        f["recon/volume"] = grey_volume
        f["recon/volume"].attrs["voxel_size_mm"] = [0.1, 0.2, 0.3]
        f["other"] = grey_volume[:2]
    vol = volume.read(path, dataset="/recon/volume")
    assert isinstance(vol.data, h5py.Dataset)
    assert vol.voxel_size == (0.1, 0.2, 0.3)
    np.testing.assert_array_equal(vol[2:4, ::3], grey_volume[2:4, ::3])
    with pytest.raises(VolumeError, match=r"2 three-dimensional datasets"):
        volume.read(path)
    with pytest.raises(VolumeError, match=r"dataset 'nope' not found"):
        volume.read(path, dataset="nope")


def test_real_tooth_data_exchange(real_data):
    proj = volume.read(real_data / "tomopy_tooth" / "tooth.h5")
    assert isinstance(proj, volume.Projections)
    assert proj.shape == (181, 2, 640)
    assert proj.flats.shape == (10, 2, 640) and proj.darks.shape == (10, 2, 640)
    np.testing.assert_allclose(np.rad2deg(proj.angles[[0, -1]]), [0.0, 179.0055], atol=1e-3)
    assert np.all(proj.flats.mean() > proj.darks.mean())


def test_data_exchange_without_theta_assumes_half_turn(tmp_path):
    path = tmp_path / "scan.h5"
    with h5py.File(path, "w") as f:
        f["exchange/data"] = np.ones((4, 2, 3), np.uint16)
        f["exchange/data_white"] = np.ones((1, 2, 3), np.uint16)
    proj = volume.read_projections(path)
    np.testing.assert_allclose(proj.angles, np.arange(4) * np.pi / 4)
    assert "assumed" in proj.metadata["angles_from"]


def test_flat_shape_mismatch(tmp_path):
    path = tmp_path / "scan.h5"
    with h5py.File(path, "w") as f:
        f["exchange/data"] = np.ones((4, 2, 3), np.uint16)
        f["exchange/data_white"] = np.ones((1, 2, 5), np.uint16)
    with pytest.raises(VolumeError, match=r"flats: frames of shape \(2, 5\); expected \(2, 3\)"):
        volume.read(path)


def test_not_hdf5(tmp_path):
    (tmp_path / "x.h5").write_bytes(b"not hdf5")
    with pytest.raises(VolumeError, match=r"x\.h5: not a readable HDF5 file"):
        volume.read(tmp_path / "x.h5")
