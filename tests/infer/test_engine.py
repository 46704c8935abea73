"""Choosing the inference pass: windows by default, tiles for tile-safe networks when asked,
fitted to the memory budget, windows again (auto) or a clear error (tiles) when no tile fits."""

import numpy as np
import pytest
import torch

from porelab.errors import ConfigError
from porelab.infer.engine import describe, plan_inference, run_inference
from porelab.infer.sliding import SlidingWindowConfig
from porelab.infer.tiles import TileConfig
from porelab.models import build_model

from synthetic import collect

GIB = 2**30


@pytest.fixture(scope="module")
def unet():
    torch.manual_seed(0)
    return build_model("unet", spatial_dims=3, channels=(4, 8, 8)).eval()


def test_windows_are_the_default(unet):
    plan = plan_inference(unet, (64, 64, 64), (16, 16, 16), GIB)
    assert isinstance(plan, SlidingWindowConfig) and plan.window == (16, 16, 16)
    assert describe(plan)["engine"] == "windows"


def test_a_volume_that_fits_is_one_tile(unet):
    plan = plan_inference(unet, (100, 90, 80), (16, 16, 16), 2 * GIB, engine="tiles")
    assert isinstance(plan, TileConfig) and plan.tile == (100, 100, 100) and plan.multiple == 4
    assert describe(plan) == {"engine": "tiles", "tile": [100, 100, 100], "margin": 16, "stride": 4}


def test_a_smaller_budget_gives_smaller_tiles(unet):
    big = plan_inference(unet, (512, 512, 512), (16, 16, 16), 4 * GIB, engine="tiles")
    small = plan_inference(unet, (512, 512, 512), (16, 16, 16), GIB // 4, engine="tiles")
    assert small.tile[0] < big.tile[0] <= 192


def test_auto_falls_back_to_windows_when_no_tile_fits(unet):
    budget = 64 * 2**20  # below the tiles' fixed cost, enough for 16^3 windows
    assert isinstance(plan_inference(unet, (64, 64, 64), (16, 16, 16), budget, engine="auto"), SlidingWindowConfig)
    with pytest.raises(ConfigError, match="max_memory = 64 MiB; tiles .* do not fit"):
        plan_inference(unet, (64, 64, 64), (16, 16, 16), budget, engine="tiles")


def test_tiles_are_refused_for_a_crop_dependent_network():
    vae = build_model("vae", spatial_dims=3)
    with pytest.raises(ConfigError, match="engine = 'tiles' for a"):
        plan_inference(vae, (64, 64, 64), (64, 64, 64), GIB, engine="tiles")
    assert isinstance(plan_inference(vae, (64, 64, 64), (64, 64, 64), GIB, engine="auto"), SlidingWindowConfig)


def test_unknown_engine_is_refused(unet):
    with pytest.raises(ConfigError, match="engine = 'fast'; expected one of auto, tiles, windows"):
        plan_inference(unet, (64, 64, 64), (16, 16, 16), GIB, engine="fast")


@pytest.mark.parametrize("engine", ["windows", "tiles"])
def test_run_inference_follows_the_plan(unet, engine):
    volume = np.random.default_rng(1).random((24, 20, 28), dtype=np.float32)
    plan = plan_inference(unet, volume.shape, (16, 16, 16), GIB, engine=engine)
    out, sink = collect(volume.shape)
    run_inference(volume, lambda t: t, sink, plan)  # identity: both engines give the input back
    np.testing.assert_allclose(out[0], volume, rtol=1e-5, atol=1e-6)
