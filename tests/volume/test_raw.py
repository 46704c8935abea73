"""Headerless volumes with PyHST .info and VGSTUDIO .vgi sidecars."""

import numpy as np
import pytest

from porelab import volume
from porelab.errors import VolumeError

VGI = """{{volume1}}
[representation]
size = {x} {y} {z}
[file1]
SkipHeader = {skip}
FileFormat = raw
Size = {x} {y} {z}
Name = C:\\scans\\run 7\\{name}
Datatype = {kind}
BitsPerElement = {bits}
{{scene}}
[geometry]
resolution = 12.5 25 50
unit = um
"""


def _write_pyhst(tmp_path, data, extra=""):
    path = tmp_path / "vol.raw"
    data.tofile(path)
    z, y, x = data.shape
    (tmp_path / "vol.raw.info").write_text(
        f"! PyHST_SLAVE VOLUME INFO FILE\nNUM_X = {x}\nNUM_Y = {y}\n"
        f"NUM_Z = {z}\nvoxelSize = 2.5\nBYTEORDER = LOWBYTEFIRST\n{extra}"
    )
    return path


def test_pyhst_float_volume(tmp_path, grey_volume):
    data = grey_volume.astype(np.float32) / 7
    vol = volume.read(_write_pyhst(tmp_path, data))
    assert isinstance(vol.data, np.memmap)
    assert vol.dtype == np.float32 and vol.voxel_size == pytest.approx((0.0025,) * 3)
    np.testing.assert_array_equal(vol.to_numpy(), data)


def test_pyhst_dtype_from_caller_or_sidecar(tmp_path, grey_volume):
    path = _write_pyhst(tmp_path, grey_volume.astype(np.int32), extra="DATA_TYPE = int32\n")
    np.testing.assert_array_equal(volume.read(path).to_numpy(), grey_volume)
    np.testing.assert_array_equal(volume.read(tmp_path / "vol.raw.info").to_numpy(), grey_volume)
    with pytest.raises(VolumeError, match="agree"):
        volume.read(path, dtype="float32")


def test_pyhst_size_that_fits_no_dtype(tmp_path, grey_volume):
    path = _write_pyhst(tmp_path, grey_volume.astype(np.float32))
    with open(path, "ab") as f:
        f.write(b"\0" * 4)
    with pytest.raises(VolumeError, match=r"no dtype in the sidecar and vol\.raw holds 2776 bytes for 693 voxels"):
        volume.read(path)


def test_pyhst_missing_field(tmp_path, grey_volume):
    path = tmp_path / "vol.raw"
    grey_volume.tofile(path)
    (tmp_path / "vol.raw.info").write_text("NUM_X = 11\nNUM_Y = 9\n")
    with pytest.raises(VolumeError, match=r"vol\.raw\.info: field NUM_Z is missing"):
        volume.read(path)


def test_pyhst_malformed_field(tmp_path, grey_volume):
    path = tmp_path / "vol.raw"
    grey_volume.tofile(path)
    (tmp_path / "vol.raw.info").write_text("NUM_X = eleven\nNUM_Y = 9\nNUM_Z = 7\n")
    with pytest.raises(VolumeError, match=r"NUM_X = 'eleven'; expected a positive integer"):
        volume.read(path)


def test_byte_size_mismatch_names_the_sizes(tmp_path, grey_volume):
    path = _write_pyhst(tmp_path, grey_volume.astype(np.float32), extra="DATA_TYPE = float32\n")
    with open(path, "ab") as f:
        f.write(b"\0" * 4)
    with pytest.raises(VolumeError, match=r"holds 2776 bytes.*expected 2772 = 11 x 9 x 7 voxels x 4"):
        volume.read(path)


@pytest.mark.parametrize(
    "kind,bits,dtype",
    [
        ("unsigned integer", 8, "<u1"),
        ("unsigned integer", 16, "<u2"),
        ("signed integer", 16, "<i2"),
        ("float", 32, "<f4"),
    ],
)
def test_vgi_volume(tmp_path, grey_volume, kind, bits, dtype):
    data = (grey_volume % 200).astype(dtype)
    (tmp_path / "part.vol").write_bytes(b"H" * 64 + data.tobytes())
    z, y, x = data.shape
    (tmp_path / "part.vgi").write_text(VGI.format(x=x, y=y, z=z, skip=64, name="part.vol", kind=kind, bits=bits))
    for path in (tmp_path / "part.vgi", tmp_path / "part.vol"):
        vol = volume.read(path)
        assert vol.dtype == np.dtype(dtype)
        assert vol.voxel_size == pytest.approx((0.05, 0.025, 0.0125))
        np.testing.assert_array_equal(vol.to_numpy(), data)


def test_vgi_bad_bits(tmp_path, grey_volume):
    (tmp_path / "part.vol").write_bytes(grey_volume.tobytes())
    (tmp_path / "part.vgi").write_text(
        VGI.format(x=11, y=9, z=7, skip=0, name="part.vol", kind="unsigned integer", bits=12)
    )
    with pytest.raises(VolumeError, match=r"BitsPerElement = 12; expected 8, 16 or 32"):
        volume.read(tmp_path / "part.vgi")


def test_vgi_missing_section(tmp_path):
    (tmp_path / "part.vgi").write_text("[geometry]\nresolution = 1 1 1\n")
    with pytest.raises(VolumeError, match=r"section \[file1\] is missing"):
        volume.read(tmp_path / "part.vgi")


def test_raw_without_sidecar_needs_shape(tmp_path, grey_volume):
    path = tmp_path / "bare.raw"
    grey_volume.tofile(path)
    with pytest.raises(VolumeError, match=r"no sidecar found.*shape=\(z, y, x\) and dtype="):
        volume.read(path)
    vol = volume.read(path, shape=grey_volume.shape, dtype="uint16", voxel_size=0.01)
    np.testing.assert_array_equal(vol.to_numpy(), grey_volume)


def test_real_headerless_rock_volumes(real_data):
    cube = volume.read(real_data / "rock_microct" / "raw_100cube.raw", shape=(100, 100, 100), dtype="<u2")
    tall = volume.read(real_data / "rock_microct" / "raw_100_100_200.raw", shape=(200, 100, 100), dtype="<u2")
    assert cube[50].std() > 0 and tall[150].std() > 0
    with pytest.raises(VolumeError, match="expected 20000000"):
        volume.read(real_data / "rock_microct" / "raw_100cube.raw", shape=(100, 100, 1000), dtype="<u2")
