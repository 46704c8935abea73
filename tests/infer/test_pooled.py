"""Pooled sliding windows: volumes of different shapes share forward passes and each gets the
score a pass of its own gives; `predict_many` writes what `predict` writes."""

import numpy as np
import pandas as pd
import pytest
import torch

from porelab import volume
from porelab.errors import ConfigError
from porelab.infer.pooled import PooledVolume, pooled_sliding_window
from porelab.infer.predict import PredictConfig, PredictJob, predict, predict_many
from porelab.infer.sliding import SlidingWindowConfig, sliding_window
from porelab.infer.verdict_step import VerdictConfig

from synthetic import sphere_scan, trained_tiny_unet

SHAPES = [(20, 18, 22), (8, 8, 8), (20, 18, 22), (13, 25, 9)]


class _Collect:
    def __init__(self, shape):
        self.out = np.zeros(shape, np.float32)

    def __call__(self, z0, block):
        self.out[z0 : z0 + block.shape[1]] = block[0]


def _toy_forward(calls):
    """Voxel-wise, so its outputs do not depend on which windows share a batch (a convolution's
    rounding does)."""

    def forward(batch):
        calls.append(len(batch))
        return torch.sin(3 * batch) + batch**2

    return forward


def test_pooled_windows_give_each_volume_its_own_sliding_window_result():
    rng = np.random.default_rng(0)
    volumes = [rng.normal(size=shape).astype(np.float32) for shape in SHAPES]
    config = SlidingWindowConfig(window=(8, 8, 8), overlap=0.5, batch_size=3)
    alone = []
    for data in volumes:
        sink = _Collect(data.shape)
        sliding_window(data, _toy_forward([]), sink, config, transform=lambda x: 2 * x)
        alone.append(sink.out)
    calls = []
    sinks = [_Collect(data.shape) for data in volumes]
    passes = pooled_sliding_window(
        [PooledVolume(d, s, config, lambda x: 2 * x) for d, s in zip(volumes, sinks, strict=True)],
        _toy_forward(calls),
        max_windows=16,
    )
    windows = sum(config.grid(d.shape).count for d in volumes)
    assert passes == len(calls) == -(-windows // 16) and max(calls) == 16 and sum(calls) == windows
    for sink, expected in zip(sinks, alone, strict=True):
        np.testing.assert_array_equal(sink.out, expected)  # same forward outputs, same blending order


def test_pooled_volumes_need_one_window_shape():
    data = np.zeros((8, 8, 8), np.float32)
    volumes = [PooledVolume(data, _Collect(data.shape), SlidingWindowConfig(window=w)) for w in ((8, 8, 8), (4, 4, 4))]
    with pytest.raises(ConfigError, match="one window shape"):
        pooled_sliding_window(volumes, _toy_forward([]), 4)
    assert pooled_sliding_window([], _toy_forward([]), 4) == 0


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("pooled")
    return trained_tiny_unet(root, root / "model.pt")[0]


def test_predict_many_writes_what_predict_writes(tmp_path, checkpoint):
    scans = [
        sphere_scan((32, 32, 32), [(10, 10, 12), (22, 21, 20)], 4, seed=1)[0],
        sphere_scan((24, 30, 20), [(12, 14, 10)], 4, seed=2)[0],
        sphere_scan((12, 12, 12), [(6, 6, 6)], 3, seed=3)[0],
    ]  # smaller than the 16^3 window
    jobs = []
    for i, scan in enumerate(scans):
        volume.write(scan, tmp_path / f"in{i}.npy", voxel_size=0.02)
        jobs.append(PredictJob(tmp_path / f"in{i}.npy", tmp_path / f"many{i}", threshold=0.4 if i == 1 else None))
    summaries = predict_many(checkpoint, jobs, PredictConfig(max_memory=2**28), max_windows=8)
    for i, (job, summary) in enumerate(zip(jobs, summaries, strict=True)):
        alone = predict(
            checkpoint,
            job.input_path,
            tmp_path / f"alone{i}",
            PredictConfig(max_memory=2**28, verdict=VerdictConfig(threshold=job.threshold)),
        )
        assert summary["pooled"]["volumes"] == 3 and summary["pooled"]["forward_passes"] > 1
        assert summary["threshold"] == alone["threshold"] == (0.4 if i == 1 else 0.5)
        assert summary["pore_count"] == alone["pore_count"] >= 1
        np.testing.assert_allclose(
            np.load(tmp_path / f"many{i}" / "score.npy"), np.load(tmp_path / f"alone{i}" / "score.npy"), atol=1e-5
        )
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / f"many{i}" / "pores.parquet"),
            pd.read_parquet(tmp_path / f"alone{i}" / "pores.parquet"),
        )
