"""Slabs spread over Ray actors stitch into exactly the single-process result."""

import numpy as np
import pytest
import torch
from torch import nn

from porelab import volume
from porelab.infer.distributed import RayInferenceConfig, ShippedModel, sliding_window_on_ray, z_ranges
from porelab.infer.output import NpyBlockWriter
from porelab.infer.sliding import SlidingWindowConfig, sliding_window


def small_net() -> nn.Module:
    torch.manual_seed(7)
    return nn.Sequential(nn.Conv3d(1, 3, 3, padding=1), nn.Tanh(), nn.Conv3d(3, 1, 3, padding=1))


def test_z_ranges_tile_the_depth():
    assert z_ranges(10, 4) == [(0, 4), (4, 8), (8, 10)]


@pytest.mark.ray
def test_ray_actors_match_one_pass(tmp_path, ray_session):
    data = np.random.default_rng(5).random((50, 20, 18), dtype=np.float32)
    path = volume.write(data, tmp_path / "in.npy")
    config = SlidingWindowConfig(window=(16, 16, 16), batch_size=2)
    reference = np.zeros((1,) + data.shape, np.float32)
    model = small_net().eval()

    def sink(z0, block):
        reference[:, z0 : z0 + block.shape[1]] = block

    sliding_window(data, model, sink, config)
    with NpyBlockWriter(tmp_path / "score.npy", data.shape) as writer:
        sliding_window_on_ray(
            path,
            data.shape,
            ShippedModel(small_net()),
            writer,
            config,
            RayInferenceConfig(actors=2, cpus_per_actor=0.5, slices_per_task=12),
        )
    np.testing.assert_allclose(np.load(tmp_path / "score.npy"), reference[0], rtol=1e-5, atol=1e-6)
