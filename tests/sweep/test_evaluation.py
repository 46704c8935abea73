"""Scoring a trained model on a whole scan: anomaly models' raw and post-processed scores share one pass."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from porelab.data import load_scans
from porelab.infer.postprocess import postprocess
from porelab.infer.predict import load_score_model
from porelab.models import build_model, default_config
from porelab.simulate.datasets.manifest import read_manifest
from porelab.sweep.evaluation import ScanTruth, evaluate_checkpoint, score_map, score_metrics
from porelab.train.checkpoint import save_checkpoint
from porelab.train.config import profile


@pytest.fixture
def vae_checkpoint(tmp_path):
    config = profile("demo", model="vae")
    config = replace(config, model=default_config("vae", patch_size=16, channels=(4, 8), latent_dim=8),
                     patches=replace(config.patches, patch=(16, 16, 16)))
    torch.manual_seed(0)
    return save_checkpoint(tmp_path / "vae.pt", build_model(config.model), config.to_dict(), epoch=1, metrics={})


def test_anomaly_raw_score_is_the_served_score_and_postprocessing_uses_the_same_map(tiny_dataset, vae_checkpoint):
    scan = load_scans(tiny_dataset)[0]
    truth = ScanTruth.load(tiny_dataset, read_manifest(tiny_dataset)["scans"][0])
    results = evaluate_checkpoint(vae_checkpoint, scan, truth)

    model, _ = load_score_model(vae_checkpoint)
    served = score_map(model, scan, (16, 16, 16))  # what `porelab predict` and the service score
    expected_raw = score_metrics(served, truth, scan.voxel_size, None).metrics
    for name, value in expected_raw.items():
        assert results["raw"].metrics[name] == pytest.approx(value, abs=1e-6, nan_ok=True), name

    from porelab import volume
    from porelab.infer.anomaly_maps import reconstruction_maps
    from porelab.infer.sliding import SlidingWindowConfig

    error, reconstruction = reconstruction_maps(volume.read(scan.scan_path).to_numpy(), model.model,
                                                SlidingWindowConfig(window=(16, 16, 16)), transform=scan.normaliser)
    np.testing.assert_allclose(error, served, atol=1e-5)  # one blending for both variants
    expected_post = score_metrics(postprocess(error, reconstruction)[0], truth, scan.voxel_size, None).metrics
    assert results["postprocessed"].metrics["ap"] == pytest.approx(expected_post["ap"], abs=1e-6)


def test_segmenters_are_scored_raw_only(tmp_path, tiny_dataset):
    config = profile("demo", model="unet")
    config = replace(config, model=default_config("unet", channels=(4, 8)), patches=replace(config.patches,
                                                                                           patch=(16, 16, 16)))
    checkpoint = save_checkpoint(tmp_path / "unet.pt", build_model(config.model), config.to_dict(), epoch=1,
                                 metrics={})
    scan = load_scans(tiny_dataset)[0]
    truth = ScanTruth.load(tiny_dataset, read_manifest(tiny_dataset)["scans"][0])
    assert set(evaluate_checkpoint(checkpoint, scan, truth)) == {"raw"}
