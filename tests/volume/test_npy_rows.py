"""`NpyRows` against numpy's own .npy reader and writer."""

from __future__ import annotations

import numpy as np
import pytest

from porelab.errors import VolumeError
from porelab.volume.npy import NpyRows


def test_rows_written_in_any_order_read_back_with_numpy(tmp_path):
    path = tmp_path / "vol.npy"
    rows = NpyRows(path, shape=(7, 3, 5), dtype=np.float32)
    truth = np.random.default_rng(0).normal(size=(7, 3, 5)).astype(np.float32)
    for a, b in [(4, 7), (0, 2), (2, 4)]:
        rows[a:b] = truth[a:b]
    np.testing.assert_array_equal(np.load(path), truth)


def test_rows_of_a_numpy_file_read_as_numpy_slices(tmp_path):
    path = tmp_path / "labels.npy"
    truth = np.arange(4 * 6 * 2, dtype=np.uint16).reshape(4, 6, 2)
    np.save(path, truth)
    rows = NpyRows(path)
    assert rows.shape == truth.shape and rows.dtype == truth.dtype
    np.testing.assert_array_equal(rows[1:3], truth[1:3])
    np.testing.assert_array_equal(rows[3:10], truth[3:])


def test_an_unfilled_volume_reads_zero(tmp_path):
    rows = NpyRows(tmp_path / "empty.npy", shape=(3, 2, 2), dtype=np.float32)
    assert not rows[0:3].any()


@pytest.mark.parametrize(
    ("key", "block", "match"),
    [(slice(0, 2), np.zeros((3, 2, 2)), "expected \\(2, 2, 2\\)"), (slice(0, 4, 2), np.zeros((2, 2, 2)), "step")],
)
def test_bad_row_writes_name_the_file_and_what_was_expected(tmp_path, key, block, match):
    rows = NpyRows(tmp_path / "v.npy", shape=(4, 2, 2), dtype=np.float32)
    with pytest.raises(VolumeError, match=match) as err:
        rows[key] = block
    assert "v.npy" in str(err.value)


def test_a_fortran_ordered_file_is_refused(tmp_path):
    path = tmp_path / "f.npy"
    np.save(path, np.asfortranarray(np.ones((3, 4, 5))))
    with pytest.raises(VolumeError, match="Fortran"):
        NpyRows(path)
