"""TIFF files and directories, voxel size from OME, ImageJ and resolution tags."""

import numpy as np
import pytest
import tifffile

from porelab import volume
from porelab.errors import VolumeError
from porelab.volume.lazy import SliceStack


def test_directory_is_read_in_natural_order(tmp_path, grey_volume):
    for z in range(grey_volume.shape[0]):  # slice_2 must come before slice_10
        tifffile.imwrite(tmp_path / f"slice_{z * 4}.tif", grey_volume[z])
    vol = volume.read(tmp_path)
    assert isinstance(vol.data, SliceStack)
    np.testing.assert_array_equal(vol.to_numpy(), grey_volume)
    np.testing.assert_array_equal(vol[3:5, 1:4, -2], grey_volume[3:5, 1:4, -2])
    np.testing.assert_array_equal(vol[-1], grey_volume[-1])


def test_imagej_metadata_gives_voxel_size(tmp_path, grey_volume):
    path = tmp_path / "ij.tif"
    tifffile.imwrite(
        path,
        grey_volume,
        imagej=True,
        resolution=(1 / 20.0, 1 / 10.0),
        metadata={"spacing": 30.0, "unit": "micron", "axes": "ZYX"},
    )
    vol = volume.read(path)
    assert vol.voxel_size == pytest.approx((0.030, 0.010, 0.020))
    assert vol.metadata["voxel_size_source"] == "imagej"


def test_resolution_tags_in_centimetres(tmp_path, grey_volume):
    path = tmp_path / "tags.tif"
    tifffile.imwrite(path, grey_volume, resolution=(200.0, 200.0), resolutionunit="CENTIMETER")
    vol = volume.read(path)
    assert vol.voxel_size == pytest.approx((0.05, 0.05, 0.05))


def test_compressed_multipage_file_is_lazy(tmp_path, grey_volume):
    path = tmp_path / "zlib.tif"
    tifffile.imwrite(path, grey_volume, compression="zlib")
    vol = volume.read(path)
    assert isinstance(vol.data, SliceStack)
    np.testing.assert_array_equal(vol[1:3], grey_volume[1:3])


def test_uncompressed_file_is_memory_mapped(tmp_path, grey_volume):
    volume.write(grey_volume, tmp_path / "v.tif")
    assert isinstance(volume.read(tmp_path / "v.tif").data, np.memmap)


def test_real_rock_slices(real_data):
    vol = volume.read(real_data / "rock_microct" / "S-4-X_slices")
    assert vol.shape == (5, 1011, 980) and vol.dtype == np.uint16
    first = tifffile.imread(real_data / "rock_microct" / "S-4-X_slices" / "S-4-X_00001.tiff")
    np.testing.assert_array_equal(vol[0], first)


def test_real_savu_projection_directory(real_data):
    vol = volume.read(real_data / "savu_image_test" / "tiffs")
    assert vol.shape == (91, 135, 160) and vol.dtype == np.uint16
    assert vol.metadata["first_file"] < vol.metadata["last_file"]


def test_empty_directory(tmp_path):
    with pytest.raises(VolumeError, match=r"holds no \.tif/\.tiff"):
        volume.read(tmp_path)


def test_mixed_slice_shapes(tmp_path):
    tifffile.imwrite(tmp_path / "s1.tif", np.zeros((4, 5), np.uint8))
    tifffile.imwrite(tmp_path / "s2.tif", np.zeros((4, 6), np.uint8))
    with pytest.raises(VolumeError, match=r"s2\.tif.*\(4, 6\).*expected \(4, 5\)"):
        volume.read(tmp_path)


def test_unreadable_tiff(tmp_path):
    path = tmp_path / "broken.tif"
    path.write_bytes(b"II*\x00garbage that is not a tiff")
    with pytest.raises(VolumeError, match=r"broken\.tif: not a readable TIFF"):
        volume.read(path)


def test_single_2d_image_needs_allow_2d(tmp_path):
    tifffile.imwrite(tmp_path / "one.tif", np.ones((4, 5), np.uint8))
    with pytest.raises(VolumeError, match=r"one\.tif.*2-D.*expected a 3-D volume"):
        volume.read(tmp_path / "one.tif")
    assert volume.read(tmp_path / "one.tif", allow_2d=True).shape == (1, 4, 5)


def test_the_same_volume_written_twice_gives_the_same_bytes(tmp_path, grey_volume):
    """OME-TIFFs carry a UUID; ours is derived from the volume's description, so a rebuilt
    dataset has the checksums of the first build."""
    import hashlib

    digests = []
    for name in ("a.tif", "b.tif"):
        volume.write(grey_volume, tmp_path / name)
        digests.append(hashlib.sha256((tmp_path / name).read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    volume.write(grey_volume + 1, tmp_path / "c.tif")
    assert hashlib.sha256((tmp_path / "c.tif").read_bytes()).hexdigest() != digests[0]
