"""Bad input: clear `VolumeError`s naming the file, the field and what was expected."""

import h5py
import numpy as np
import pytest
import tifffile

from porelab import volume
from porelab.errors import VolumeError


def test_unknown_suffix(tmp_path):
    (tmp_path / "scan.mhd").write_text("x")
    with pytest.raises(VolumeError, match=r"scan\.mhd: unknown suffix '\.mhd'; expected one of: TIFF"):
        volume.read(tmp_path / "scan.mhd")


def test_missing_file(tmp_path):
    with pytest.raises(VolumeError, match=r"nothing\.npy: no such file"):
        volume.read(tmp_path / "nothing.npy")


@pytest.mark.parametrize("suffix", [".npy", ".tif", ".zarr"])
def test_nan_and_inf_are_counted(tmp_path, suffix):
    data = np.zeros((3, 4, 5), np.float32)
    data[0, 0, :3] = np.nan
    data[2, 1, 1] = np.inf
    path = volume.write(volume.Volume(data, 1.0, {"allow_nonfinite": True}), tmp_path / f"v{suffix}")
    with pytest.raises(VolumeError, match=r"3 voxel\(s\) are NaN and 1 are \+-inf in float32 data"):
        volume.read(path)
    vol = volume.read(path, allow_nonfinite=True)
    assert np.isnan(vol[0, 0, 0])


def test_2d_npy_is_refused(tmp_path):
    np.save(tmp_path / "img.npy", np.zeros((4, 5), np.float32))
    with pytest.raises(VolumeError, match=r"img\.npy: array of shape \(4, 5\) is 2-D; expected a 3-D volume"):
        volume.read(tmp_path / "img.npy")


def test_corrupt_npy_sidecar(tmp_path):
    volume.write(np.zeros((2, 2, 2), np.uint8), tmp_path / "v.npy")
    (tmp_path / "v.npy.json").write_text('{"voxel_size_mm": "big"}')
    with pytest.raises(VolumeError, match=r"v\.npy\.json: field voxel_size_mm unreadable"):
        volume.read(tmp_path / "v.npy")


def test_bad_voxel_size():
    with pytest.raises(VolumeError, match="positive sizes in mm"):
        volume.Volume(np.zeros((2, 2, 2)), (1.0, -1.0, 1.0))


def test_volume_requires_three_axes():
    with pytest.raises(VolumeError, match=r"shape \(2, 2\) has 2 axes; expected a 3-D volume"):
        volume.Volume(np.zeros((2, 2)))


@pytest.mark.parametrize("suffix", [".npy", ".tif", ".h5"])
def test_complex_data_is_refused_by_every_reader(tmp_path, suffix):
    """NumPy would cast complex to float with only a warning, dropping the imaginary part."""
    data = np.full((2, 3, 4), 1 + 2j, np.complex64)
    path = tmp_path / f"c{suffix}"
    if suffix == ".npy":
        np.save(path, data)
    elif suffix == ".tif":
        tifffile.imwrite(path, data, photometric="minisblack")
    else:
        with h5py.File(path, "w") as f:
            f["volume"] = data
    with pytest.raises(VolumeError, match=rf"c\{suffix}: data: dtype complex64 holds no real grey values"):
        volume.read(path)


@pytest.mark.parametrize("dtype", [np.complex128, np.dtype("U1"), object, np.dtype([("a", "u1"), ("b", "u1")])])
def test_volume_refuses_non_real_dtypes(dtype):
    with pytest.raises(VolumeError, match="holds no real grey values"):
        volume.Volume(np.zeros((2, 2, 2), dtype=dtype))
    assert volume.Volume(np.zeros((2, 2, 2), bool)).dtype == bool


@pytest.mark.parametrize("shape, cut", [((64, 64), 500), ((8, 32, 32), 3000)])
def test_truncated_tiff_says_it_is_truncated(tmp_path, shape, cut):
    """An interrupted copy: a single page whose data runs past the end, or a stack whose later pages
    are gone. Both used to fail with unrelated messages (a missing page structure)."""
    tifffile.imwrite(tmp_path / "whole.tif", np.arange(np.prod(shape), dtype=np.uint16).reshape(shape))
    data = (tmp_path / "whole.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: len(data) - cut])
    with pytest.raises(VolumeError, match=r"cut\.tif: truncated.*expected a complete file"):
        volume.read(tmp_path / "cut.tif").to_numpy()
