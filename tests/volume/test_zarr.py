"""zarr arrays and OME-Zarr images."""

import numpy as np
import pytest
import zarr

from porelab import volume
from porelab.errors import VolumeError


def test_ome_zarr_level0_and_scale(tmp_path, grey_volume):
    root = zarr.open_group(str(tmp_path / "img.zarr"), mode="w")
    root.create_array("0", data=grey_volume)
    root.attrs["multiscales"] = [
        {
            "axes": [{"name": a, "type": "space", "unit": "micrometer"} for a in "zyx"],
            "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [4.0, 2.0, 1.0]}]}],
        }
    ]
    vol = volume.read(tmp_path / "img.zarr")
    assert vol.voxel_size == pytest.approx((0.004, 0.002, 0.001))
    np.testing.assert_array_equal(vol[1:3], grey_volume[1:3])


def test_group_with_several_arrays_is_ambiguous(tmp_path, grey_volume):
    root = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    root.create_array("a", data=grey_volume)
    root.create_array("b", data=grey_volume)
    with pytest.raises(VolumeError, match=r"g\.zarr: zarr group with arrays"):
        volume.read(tmp_path / "g.zarr")
