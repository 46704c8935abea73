"""Uploaded bodies: format by magic bytes, the size limit before reading, and every bad-input case."""

import asyncio
import io

import numpy as np
import pytest
import tifffile

from porelab import volume
from porelab.serve import RequestError, check_content_length, prepare_input, sniff_format, validate
from porelab.serve.payload import check_content_encoding, parse_in_memory, spool


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


async def _chunks(data, size=1000):
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_npy_and_tiff_are_told_apart_by_their_magic_bytes(tmp_path):
    (tmp_path / "a").write_bytes(_npy_bytes(np.zeros((2, 2, 2))))
    tifffile.imwrite(tmp_path / "b", np.zeros((2, 4, 4), np.uint16))
    (tmp_path / "c").write_bytes(b"GIF89a....")
    assert sniff_format(tmp_path / "a") == "npy" and sniff_format(tmp_path / "b") == "tiff"
    with pytest.raises(RequestError, match="expected a .npy file") as err:
        sniff_format(tmp_path / "c")
    assert err.value.status == 415


@pytest.mark.parametrize("header, status", [("9000", 413), ("abc", 400), ("0", 400)])
def test_content_length_is_checked_before_the_body(header, status):
    with pytest.raises(RequestError) as err:
        check_content_length(header, 8000)
    assert err.value.status == status
    check_content_length("8000", 8000)
    check_content_length(None, 8000)


def test_a_chunked_body_over_the_limit_is_cut_off(tmp_path):
    with pytest.raises(RequestError, match="over the limit of 2500 bytes") as err:
        asyncio.run(spool(_chunks(b"x" * 5000), tmp_path / "body", 2500))
    assert err.value.status == 413
    assert asyncio.run(spool(_chunks(b"x" * 2500), tmp_path / "ok", 2500)).stat().st_size == 2500


@pytest.mark.parametrize(
    "array, match",
    [
        (np.zeros((16, 16, 16), np.complex64), "dtype complex64"),
        (np.zeros((16, 16), np.float32), "2 dimensions; expected a 3-D"),
        (np.zeros((4, 16, 16), np.float32), "too small"),
        (np.where(np.arange(16**3) == 7, np.nan, 1.0).reshape(16, 16, 16), "NaN"),
        (np.zeros((16, 16, 16), bool), "dtype bool"),
    ],
)
def test_bad_volumes_get_a_422_naming_the_problem(array, match):
    with pytest.raises(RequestError, match=match) as err:
        validate(array, 8)
    assert err.value.status == 422


def test_a_truncated_npy_is_a_400(tmp_path):
    (tmp_path / "body").write_bytes(_npy_bytes(np.zeros((16, 16, 16), np.float32))[:300])
    with pytest.raises(RequestError, match="corrupted npy") as err:
        prepare_input(tmp_path / "body", tmp_path, 8, None)
    assert err.value.status == 400


@pytest.mark.parametrize("kind", ["npy", "tiff"])
def test_a_good_body_becomes_a_predict_input_with_its_voxel_size(tmp_path, kind):
    data = np.random.default_rng(0).normal(size=(10, 12, 14)).astype(np.float32)
    if kind == "npy":
        (tmp_path / "body").write_bytes(_npy_bytes(data))
    else:
        tifffile.imwrite(tmp_path / "body", data)
    path, shape = prepare_input(tmp_path / "body", tmp_path, 8, 0.05)
    vol = volume.read(path)
    assert shape == (10, 12, 14) and vol.voxel_size == pytest.approx((0.05,) * 3)
    np.testing.assert_array_equal(vol.to_numpy(), data)


@pytest.mark.parametrize("kind", ["npy", "tiff"])
def test_a_volume_over_the_voxel_limit_is_a_413_before_its_data_is_read(tmp_path, kind):
    data = np.zeros((10, 12, 14), np.float32)
    if kind == "npy":
        (tmp_path / "body").write_bytes(_npy_bytes(data))
    else:
        tifffile.imwrite(tmp_path / "body", data)
    with pytest.raises(RequestError, match=r"1680 voxels, over the limit of 1679 \(max_voxels\)") as err:
        prepare_input(tmp_path / "body", tmp_path, 8, None, max_voxels=10 * 12 * 14 - 1)
    assert err.value.status == 413
    path, shape = prepare_input(tmp_path / "body", tmp_path, 8, None, max_voxels=10 * 12 * 14)  # at the limit
    assert shape == (10, 12, 14)


@pytest.mark.parametrize("header", ["gzip", "br", "deflate, gzip"])
def test_encoded_bodies_are_a_415_naming_the_encoding(header):
    with pytest.raises(RequestError, match=f"Content-Encoding '{header}' is not supported") as err:
        check_content_encoding(header)
    assert err.value.status == 415
    check_content_encoding(None)
    check_content_encoding("identity")


def test_float16_is_a_volume_and_object_arrays_are_refused(tmp_path):
    assert validate(np.zeros((16, 16, 16), np.float16), 8).dtype == np.float16  # real grey values, kept
    buffer = io.BytesIO()
    np.save(buffer, np.empty((16, 16, 16), object), allow_pickle=True)
    (tmp_path / "body").write_bytes(buffer.getvalue())
    with pytest.raises(RequestError, match="corrupted npy body: .*Python objects in dtype") as err:
        prepare_input(tmp_path / "body", tmp_path, 8, None)
    assert err.value.status == 400


@pytest.mark.parametrize("kind", ["npy", "tiff"])
def test_a_body_in_memory_gets_the_checks_of_a_body_on_disk(tmp_path, kind):
    data = np.random.default_rng(1).normal(size=(10, 12, 14)).astype(np.float32)
    if kind == "npy":
        body = _npy_bytes(data)
    else:
        buffer = io.BytesIO()
        tifffile.imwrite(buffer, data)
        body = buffer.getvalue()
    np.testing.assert_array_equal(parse_in_memory(body, 8), data)
    with pytest.raises(RequestError, match="over the limit of 1679 \\(max_voxels\\)") as err:
        parse_in_memory(body, 8, max_voxels=1679)
    assert err.value.status == 413
    with pytest.raises(RequestError, match=f"corrupted {kind}") as err:
        parse_in_memory(body[: len(body) // 2], 8)
    assert err.value.status == 400
    with pytest.raises(RequestError, match="too small") as err:
        parse_in_memory(body, 12)
    assert err.value.status == 422
    with pytest.raises(RequestError, match="expected a .npy file") as err:
        parse_in_memory(b"not a volume", 8)
    assert err.value.status == 415
