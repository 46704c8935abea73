"""The bundled detector's recipe end to end on a tiny randomized set, and bundles: checksums,
lookup by name, the service's default registry."""

import json
from pathlib import Path

import pytest

import porelab.bundled as bundled
from porelab.checksum import sha256
from porelab import volume
from porelab.errors import ConfigError
from porelab.infer.predict import predict, resolve_checkpoint
from porelab.serve.arguments import _registry
from porelab.sweep.detector.pretrain import PretrainConfig, bundle_to, findings, model_card, pretrain

TINY = [
    "loop.max_epochs=1",
    "stream.patches_per_epoch=8",
    "stream.val_patches=4",
    "patches.patch=[16,16,16]",
    "model.channels=[4,8]",
    "batch_size=4",
]
SAMPLING = {
    "scans": 3,
    "validation_scans": 1,
    "grid_sides": [32],
    "parts": ["cube", "bushing"],
    "projections": [0.25, 0.3],
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, ray_session):
    from porelab.simulate.datasets import RandomizedConfig, build_dataset

    root = tmp_path_factory.mktemp("pretrain")
    build_dataset(root / "rand", "am-randomized", sampling=RandomizedConfig.from_dict(SAMPLING))
    config = PretrainConfig(data=str(root / "rand"), evaluation_data=None, out=str(root / "run"), overrides=tuple(TINY))
    record = pretrain(config, report=lambda message: None)
    return root, config, record


@pytest.mark.ray
def test_the_recipe_trains_calibrates_and_records(trained):
    root, config, record = trained
    assert record["train"]["finished"] and record["train"]["epochs"] == 1
    assert [s[:8] for s in record["train"]["val_scans"]] == ["rand-002"]  # the validation role
    assert "held-out scans (rand-002-" in record["operating_point"]["source"]
    assert record["data"]["sampling"]["grid_sides"] == [32]
    assert json.loads((Path(config.out) / "pretrain.json").read_text())["checkpoint"] == record["checkpoint"]
    again = pretrain(config, report=lambda message: None)  # finished: nothing is trained again
    assert again["train"]["seconds"] == record["train"]["seconds"]
    assert findings(record)[0].startswith("trained unet for 1 epochs")


@pytest.mark.ray
def test_a_bundle_is_found_by_name_checked_and_served(trained, monkeypatch, tmp_path):
    root, _, record = trained
    monkeypatch.setattr(bundled, "BUNDLED_ROOT", tmp_path)
    target = bundle_to(record, tmp_path / "tiny-am", model_card(record))
    config = json.loads((target / "config.json").read_text())
    assert config["sha256"] == sha256(target / "model.pt") and bundled.bundled_names() == ["tiny-am"]
    assert (target / "model.pt").stat().st_size < Path(record["checkpoint"]).stat().st_size  # no optimiser
    assert resolve_checkpoint("tiny-am") == target / "model.pt"
    assert _registry(None) == tmp_path
    scan = next((root / "rand").glob("rand-000-*/scan.tif"))
    summary = predict("tiny-am", scan, tmp_path / "pred")
    same = lambda point: json.dumps(point, sort_keys=True)  # noqa: E731  (NaN-safe: NaN != NaN)
    assert same(summary["operating_point"]) == same(config["operating_point"])
    assert volume.read(tmp_path / "pred" / "mask.tif").shape == volume.read(scan).shape
    (target / "model.pt").write_bytes((target / "model.pt").read_bytes() + b"x")
    with pytest.raises(ConfigError, match=r"model.pt: sha256 .*expected .*field 'sha256'"):
        resolve_checkpoint("tiny-am")


def test_no_bundle_means_a_registry_is_required(monkeypatch, tmp_path):
    monkeypatch.setattr(bundled, "BUNDLED_ROOT", tmp_path)
    with pytest.raises(ConfigError, match="--registry DIR is required"):
        _registry(None)
    with pytest.raises(ConfigError, match="bundled detector 'porelab-am': not in this package"):
        bundled.bundled_config("porelab-am")


def test_bad_profiles_are_named():
    with pytest.raises(ConfigError, match=r"--profile 'gpu': expected one of \['laptop', 'cluster'\]"):
        PretrainConfig(profile="gpu")
