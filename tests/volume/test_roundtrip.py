"""Every writer round-trips data, dtype and voxel size through `read`."""

import numpy as np
import pytest

from porelab import volume
from porelab.errors import VolumeError

DTYPES = ["uint8", "uint16", "int16", "float32", "float64"]
SUFFIXES = [".tif", ".npy", ".zarr"]


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_roundtrip_preserves_values_dtype_and_voxel_size(tmp_path, grey_volume, suffix, dtype):
    data = grey_volume.astype(dtype)
    path = volume.write(data, tmp_path / f"v{suffix}", voxel_size=(0.05, 0.02, 0.01))
    vol = volume.read(path)
    assert vol.dtype == np.dtype(dtype)
    assert vol.shape == data.shape
    assert vol.voxel_size == pytest.approx((0.05, 0.02, 0.01), rel=1e-9)
    np.testing.assert_array_equal(vol.to_numpy(), data)
    np.testing.assert_array_equal(vol[2:5, 3, ::2], data[2:5, 3, ::2])


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_metadata_survives_for_formats_that_hold_it(tmp_path, grey_volume, suffix):
    vol = volume.Volume(grey_volume, 0.1, {"scanner": {"kv": 160}})
    volume.write(vol, tmp_path / f"v{suffix}")
    back = volume.read(tmp_path / f"v{suffix}")
    if suffix != ".tif":
        assert back.metadata["scanner"] == {"kv": 160}


def test_write_refuses_to_overwrite_unless_asked(tmp_path, grey_volume):
    path = volume.write(grey_volume, tmp_path / "v.npy")
    with pytest.raises(VolumeError, match="already exists"):
        volume.write(grey_volume, path)
    volume.write(grey_volume + 1, path, overwrite=True)
    np.testing.assert_array_equal(volume.read(path).to_numpy(), grey_volume + 1)


def test_zarr_overwrite_replaces_the_directory(tmp_path, grey_volume):
    path = volume.write(grey_volume, tmp_path / "v.zarr")
    volume.write(grey_volume[:3], path, overwrite=True)
    assert volume.read(path).shape == (3, 9, 11)
    assert [p.name for p in tmp_path.iterdir()] == ["v.zarr"]


def test_write_unknown_suffix_names_supported_ones(tmp_path, grey_volume):
    with pytest.raises(VolumeError, match=r"v\.mha.*\.tif"):
        volume.write(grey_volume, tmp_path / "v.mha")


def test_voxel_size_override_on_read(tmp_path, grey_volume):
    volume.write(grey_volume, tmp_path / "v.npy", voxel_size=0.5)
    vol = volume.read(tmp_path / "v.npy", voxel_size=(1, 2, 3))
    assert vol.voxel_size == (1.0, 2.0, 3.0)
    assert vol.metadata["voxel_size_source"] == "user"
