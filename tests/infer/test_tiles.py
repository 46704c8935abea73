"""Tiled inference: equal to one pass over the whole volume, split-invariant, near the blended result."""

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from porelab.errors import ConfigError
from porelab.infer.sliding import SlidingWindowConfig, sliding_window
from porelab.infer.tiles import TileConfig, tile_stride, tile_memory_bytes, tiled_inference
from porelab.models import build_model

from synthetic import collect

SHAPES = [(37, 29, 41), (10, 70, 20), (32, 32, 32), (5, 6, 7)]


def random_unet(seed=0, norm="batch"):
    torch.manual_seed(seed)
    model = build_model("unet", spatial_dims=3, channels=(4, 8, 8), norm=norm).eval()
    for module in model.modules():  # non-trivial running statistics, as after training
        if isinstance(module, torch.nn.BatchNorm3d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
    return model


@pytest.mark.parametrize("shape", SHAPES)
def test_identity_network_reproduces_the_input(shape):
    volume = np.random.default_rng(1).random(shape, dtype=np.float32)
    out, sink = collect(shape)
    tiled_inference(volume, lambda t: t, sink, TileConfig(tile=(16, 12, 16), margin=3))
    np.testing.assert_array_equal(out[0], volume)


@pytest.mark.parametrize("shape", [(37, 29, 41), (24, 50, 19)])
def test_equals_one_pass_over_the_whole_volume(shape):
    """A margin of the receptive field's radius (depth-2 U-Net: about 20 voxels) gives the
    single pass to float rounding (1e-5), at odd sizes and on every face."""
    model = random_unet()
    volume = np.random.default_rng(2).random(shape, dtype=np.float32)
    with torch.inference_mode():
        whole = model(torch.from_numpy(volume)[None, None])[0].numpy().reshape((1,) + shape)
    out, sink = collect(shape)
    tiled_inference(volume, model, sink, TileConfig(tile=(12, 16, 12), margin=24, multiple=model.size_multiple))
    np.testing.assert_allclose(out, whole, atol=1e-5, rtol=1e-5)


def test_slabs_join_into_one_pass():
    shape = (45, 20, 22)
    model = random_unet(seed=3)
    volume = np.random.default_rng(4).random(shape, dtype=np.float32)
    config = TileConfig(tile=(16, 16, 16), margin=8, multiple=4)
    whole, sink = collect(shape)
    tiled_inference(volume, model, sink, config)
    joined, part_sink = collect(shape)
    for z_range in [(0, 7), (7, 30), (30, 45)]:
        tiled_inference(volume, model, part_sink, config, z_range=z_range)
    np.testing.assert_array_equal(joined, whole)


def test_transform_is_applied_per_slab():
    volume = np.arange(20 * 9 * 9, dtype=np.float32).reshape(20, 9, 9)
    out, sink = collect(volume.shape)
    tiled_inference(volume, lambda t: t, sink, TileConfig(tile=(8, 8, 8), margin=2), transform=lambda a: 2 * a + 1)
    np.testing.assert_array_equal(out[0], 2 * volume + 1)


def test_close_to_the_blended_result_on_pores():
    """On dark spheres in noise, a small margin keeps the ranking of the blended windows:
    AP of the tiled map within 0.005 of the half-overlap Gaussian map's (truth = the spheres)."""
    rng = np.random.default_rng(5)
    shape = (48, 48, 48)
    zz, yy, xx = np.indices(shape)
    truth = np.zeros(shape, bool)
    for _ in range(12):
        c, r = rng.uniform(6, 42, 3), rng.uniform(1.5, 4)
        truth |= (zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2 <= r * r
    volume = np.where(truth, 0.3, 0.7).astype(np.float32) + rng.normal(0, 0.05, shape).astype(np.float32)
    model = random_unet(seed=6)
    detector = lambda t: model(t - 0.5)  # noqa: E731
    blended, blend_sink = collect(shape)
    sliding_window(volume, detector, blend_sink, SlidingWindowConfig(window=(24,) * 3, overlap=0.5))
    tiled, tile_sink = collect(shape)
    tiled_inference(volume, detector, tile_sink, TileConfig(tile=(32,) * 3, margin=8, multiple=4))
    sign = 1 if average_precision_score(truth.ravel(), blended.ravel()) > 0.5 else -1
    ap_blended = average_precision_score(truth.ravel(), sign * blended.ravel())
    ap_tiled = average_precision_score(truth.ravel(), sign * tiled.ravel())
    assert abs(ap_tiled - ap_blended) <= 0.005, (ap_tiled, ap_blended)


def test_tile_stride():
    assert tile_stride(random_unet()) == 4  # depth 2
    assert tile_stride(random_unet(norm="instance")) is None
    assert tile_stride(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 1))) is None
    assert tile_stride(build_model("vae", spatial_dims=3)) is None  # dense latent


def test_memory_counts_one_tile_and_no_slice_area():
    """One tile in (raw crop and float copy) and out; the slice area adds nothing unless the
    source reads whole slices (then one raw slab of tile + margins slices)."""
    config = TileConfig(tile=(16, 16, 16), margin=4)
    tile = 24 * 24 * 24
    assert tile_memory_bytes((100, 40, 50), config) == 4 * tile * 3
    assert tile_memory_bytes((100, 4000, 5000), config) == 4 * tile * 3
    assert tile_memory_bytes((100, 40, 50), config, whole_slices=True) == 4 * (tile * 3 + 24 * 40 * 50)


class TileRecorder:
    """A TileSink into a NaN-filled array that fails when a voxel is written twice."""

    def __init__(self, shape, channels=1):
        self.out = np.full((channels,) + tuple(shape), np.nan, np.float32)
        self.sizes = []

    def write_tile(self, corner, block):
        region = self.out[(slice(None),) + tuple(slice(c, c + n) for c, n in zip(corner, block.shape[1:]))]
        assert np.isnan(region).all(), "a voxel was written twice"
        region[...] = block
        self.sizes.append(block.shape[1:])


@pytest.mark.parametrize("z_range", [None, (5, 33)])
def test_a_tile_sink_gets_core_tiles_equal_to_the_assembled_rows(z_range):
    shape = (37, 29, 41)
    model = random_unet(seed=7)
    volume = np.random.default_rng(8).random(shape, dtype=np.float32)
    config = TileConfig(tile=(16, 12, 16), margin=8, multiple=4)
    rows, sink = collect(shape)
    tiled_inference(volume, model, sink, config, z_range=z_range)
    tiles = TileRecorder(shape)
    tiled_inference(volume, model, tiles, config, z_range=z_range)
    np.testing.assert_array_equal(tiles.out, rows)
    assert max(size[1] for size in tiles.sizes) == 12 and max(size[2] for size in tiles.sizes) == 16


class WholeSliceSource:
    """A source that reads whole slices (as a compressed TIFF stack does): counts slice reads."""

    reads_whole_slices = True

    def __init__(self, array):
        self.array, self.shape, self.slices_read = array, array.shape, 0

    def __getitem__(self, key):
        assert isinstance(key, slice), "a whole-slice source is read by z range only"
        out = self.array[key].copy()
        self.slices_read += out.shape[0]
        return out


def test_a_whole_slice_source_is_read_once_per_row_of_tiles():
    shape = (20, 30, 30)
    volume = np.random.default_rng(9).integers(0, 1000, shape).astype(np.uint16)
    source = WholeSliceSource(volume)
    out, sink = collect(shape)
    tiled_inference(source, lambda t: t, sink, TileConfig(tile=(10, 8, 8), margin=2), transform=lambda a: a / 1000)
    np.testing.assert_allclose(out[0], volume / 1000, rtol=1e-6)
    assert source.slices_read == 12 + 12  # rows [0, 10) and [10, 20), each with 2 slices of margin


@pytest.mark.parametrize("kwargs", [{"tile": (0, 4, 4)}, {"margin": -1}, {"multiple": 0}])
def test_bad_configs_are_refused(kwargs):
    with pytest.raises(ConfigError):
        TileConfig(**kwargs)


def test_bad_z_range_is_refused():
    with pytest.raises(ConfigError, match="z_range"):
        tiled_inference(np.zeros((8, 8, 8), np.float32), lambda t: t, lambda z, b: None, z_range=(4, 20))
