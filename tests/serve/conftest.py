"""A tiny registry for the service tests: one UNet trained for a few seconds on sphere pores."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from porelab.data import AugmentConfig, PatchConfig, PatchMaker, SamplerConfig, load_scans, local_batches, scan_pores
from porelab.models import build_model
from porelab.train import LoopConfig, SegmentationTask, run_training
from porelab.train.checkpoint import save_checkpoint
from porelab.train.config import profile

from synthetic import sphere_scan, write_dataset


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """registry/unet/: model.pt, config.json, metrics.json, model_card.md (the layout `make cv` writes)."""
    root = tmp_path_factory.mktemp("serve")
    scans = []
    for i in range(2):
        rng = np.random.default_rng(i)
        centres = [tuple(int(c) for c in rng.integers(6, 22, 3)) for _ in range(4)]
        scan, labels = sphere_scan((28, 28, 28), centres, 3, seed=i)
        scans.append((f"scan-{i}", "good", scan, labels))
    write_dataset(root / "ds", scans)
    records = load_scans(root / "ds")
    patches = PatchConfig(patch=(16, 16, 16), sampler=SamplerConfig("balanced", 0.5), augment=AugmentConfig.off())
    maker = PatchMaker(records, scan_pores(records), patches)
    torch.manual_seed(0)
    config = profile("demo")
    config = replace(config, model=replace(config.model, channels=(4, 8)), patches=patches)
    model = build_model(config.model)
    run_training(model, SegmentationTask(loss="dice"), lambda e: local_batches(maker, range(e * 48, e * 48 + 48), 4),
                 lambda e: local_batches(maker, range(1000, 1016), 4), LoopConfig(max_epochs=12, lr=3e-3))
    folder = root / "registry" / "unet"
    folder.mkdir(parents=True)
    save_checkpoint(folder / "model.pt", model, config.to_dict(), epoch=12, metrics={})
    (folder / "config.json").write_text(json.dumps({"model": "unet", "threshold": 0.5,
                                                    "train_config": config.to_dict()}))
    (folder / "metrics.json").write_text(json.dumps({"validation/ap": {"mean": 0.9}}))
    (folder / "model_card.md").write_text("# unet\n\n- input: a CT volume (z, y, x), grey values normalised per "
                                          "volume\n")
    return root / "registry"
