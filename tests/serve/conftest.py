"""A tiny registry for the service tests: one UNet trained for a few seconds on sphere pores."""

import json

import pytest

from synthetic import trained_tiny_unet


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """registry/unet/: model.pt, config.json, metrics.json, model_card.md (the layout `make cv` writes)."""
    root = tmp_path_factory.mktemp("serve")
    folder = root / "registry" / "unet"
    folder.mkdir(parents=True)
    _, config = trained_tiny_unet(root, folder / "model.pt")
    (folder / "config.json").write_text(json.dumps({"model": "unet", "threshold": 0.5,
                                                    "train_config": config.to_dict()}))
    (folder / "metrics.json").write_text(json.dumps({"validation/ap": {"mean": 0.9}}))
    (folder / "model_card.md").write_text("# unet\n\n- input: a CT volume (z, y, x), grey values normalised per "
                                          "volume\n")
    return root / "registry"
