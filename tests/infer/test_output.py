"""Score maps streamed to disk: z blocks and tiles in any order give numpy's own file."""

import numpy as np
import pytest

from porelab.infer.output import ArraySink, NpyBlockWriter


def tiles_of(shape, size):
    for z in range(0, shape[0], size[0]):
        for y in range(0, shape[1], size[1]):
            for x in range(0, shape[2], size[2]):
                yield z, y, x


@pytest.mark.parametrize("tile", [(4, 5, 6), (3, 7, 13)])  # partial rows; whole rows (x = 13)
@pytest.mark.parametrize("channels", [1, 2])
def test_tiles_in_any_order_write_numpys_array(tmp_path, tile, channels):
    shape = (9, 11, 13)
    expected = np.random.default_rng(0).random((channels,) + shape, dtype=np.float32)
    corners = list(tiles_of(shape, tile))
    np.random.default_rng(1).shuffle(corners)
    with NpyBlockWriter(tmp_path / "s.npy", shape, channels=channels) as writer:
        for z, y, x in corners:
            writer.write_tile((z, y, x), expected[:, z : z + tile[0], y : y + tile[1], x : x + tile[2]])
    written = np.load(tmp_path / "s.npy")
    np.testing.assert_array_equal(written, expected[0] if channels == 1 else expected)


def test_blocks_and_tiles_mix_and_a_missing_tile_leaves_no_file(tmp_path):
    shape = (6, 4, 5)
    expected = np.arange(np.prod(shape), dtype=np.float32).reshape((1,) + shape)
    with NpyBlockWriter(tmp_path / "s.npy", shape) as writer:
        writer(0, expected[:, :3])
        writer.write_tile((3, 0, 0), expected[:, 3:, :2])
        writer.write_tile((3, 2, 0), expected[:, 3:, 2:])
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), expected[0])
    with pytest.raises(RuntimeError, match="108 of 120 voxels written"):
        with NpyBlockWriter(tmp_path / "t.npy", shape) as writer:
            writer(0, expected[:, :3])
            writer.write_tile((3, 0, 0), expected[:, 3:, :2])
            writer.write_tile((3, 2, 0), expected[:, 3:, 2:, :3])
    assert not (tmp_path / "t.npy").exists()


def test_array_sink_places_blocks_and_tiles_of_a_z_range():
    sink = ArraySink((4, 3, 3), z_offset=10)
    sink(10, np.ones((2, 2, 3, 3), np.float32))
    sink.write_tile((12, 1, 1), np.full((2, 2, 2, 2), 5, np.float32))
    assert sink.array.shape == (2, 4, 3, 3)
    assert sink.array[:, :2].min() == 1 and sink.array[:, 2:, 1:, 1:].min() == 5 and sink.array[:, 2:, 0].max() == 0
