"""A tiny registry for the service tests: one UNet trained for a few seconds on sphere pores,
served twice: as "unet" (no OOD detector: the raster-spectrum check) and as "ood-unet" (with an
autoencoder detector in ood.pt)."""

import json
import shutil

import numpy as np
import pytest

from porelab.data.normalise import fit_normaliser
from porelab.ood import OODTrainingConfig, train_detector

from porelab.bundled import bundled_root
from synthetic import in_air, sphere_scan, trained_tiny_unet


def _accepted_slices(scans=8, seed=100):
    """Z slices of sphere scans like the model's training data (32^3, three pores of radius 4, the
    part in air), normalised per volume as the service's OOD check normalises an upload."""
    slices = []
    for i in range(scans):
        rng = np.random.default_rng(seed + i)
        centres = [tuple(int(c) for c in rng.integers(9, 23, 3)) for _ in range(3)]
        scan = in_air(sphere_scan((32, 32, 32), centres, 4, seed=seed + i)[0], seed=seed + i)
        slices.append(fit_normaliser(scan)(scan))
    return np.concatenate(slices).astype(np.float32)


def save_tiny_ood_detector(path):
    """A 2-D autoencoder detector (~10 s of training) saved with `OODDetector.save`, as ood.pt is
    (normalised slices, not standardised again: `porelab.ood.registry_detector`)."""
    config = OODTrainingConfig(
        perturbation="none",
        epochs=2,
        steps_per_epoch=100,
        batch_size=16,
        lr=3e-3,
        standardise=False,
        model={"channels": (16, 32), "latent_dim": 16},
    )
    return train_detector(_accepted_slices(), config).save(path)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """registry/<model>/: model.pt, config.json, metrics.json, model_card.md (the layout `make cv`
    writes), and ood.pt in ood-unet/ and in porelab-am/ (the bundled detector)."""
    root = tmp_path_factory.mktemp("serve")
    folder = root / "registry" / "unet"
    folder.mkdir(parents=True)
    _, config = trained_tiny_unet(root, folder / "model.pt")
    (folder / "config.json").write_text(
        json.dumps({"model": "unet", "threshold": 0.5, "train_config": config.to_dict()})
    )
    (folder / "metrics.json").write_text(json.dumps({"validation/ap": {"mean": 0.9}}))
    (folder / "model_card.md").write_text(
        "# unet\n\n- input: a CT volume (z, y, x), grey values normalised per volume\n"
    )
    shutil.copytree(folder, root / "registry" / "ood-unet")
    save_tiny_ood_detector(root / "registry" / "ood-unet" / "ood.pt")
    shutil.copytree(bundled_root() / "porelab-am", root / "registry" / "porelab-am")  # an AM model with its ood.pt
    return root / "registry"
