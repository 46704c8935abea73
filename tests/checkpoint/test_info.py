"""CheckpointInfo: the typed fields of a checkpoint, read back from a saved file."""

from __future__ import annotations

from dataclasses import replace

import pytest

from porelab.checkpoint import CheckpointInfo, load_checkpoint, read_checkpoint, save_checkpoint, store_operating_point
from porelab.errors import ConfigError
from porelab.models import build_model
from porelab.train.config import profile


def _saved(tmp_path, model_name: str):
    config = profile("demo").with_model(model_name, channels=(4, 8))
    config = replace(config, patches=replace(config.patches, patch=(16, 24, 32)))
    return save_checkpoint(tmp_path / "m.pt", build_model(config.model), config.to_dict(), epoch=1, metrics={})


@pytest.mark.parametrize(("model_name", "family"), [("unet", "supervised"), ("vae", "anomaly")])
def test_fields_of_a_saved_checkpoint(tmp_path, model_name, family):
    info = CheckpointInfo.from_payload(read_checkpoint(_saved(tmp_path, model_name)))
    assert (info.model_name, info.family, info.anomaly) == (model_name, family, family == "anomaly")
    assert info.window == (16, 24, 32)
    assert not info.calibrated
    assert info.operating_point.threshold == 0.5


def test_the_stored_operating_point_is_read_back(tmp_path):
    path = _saved(tmp_path, "unet")
    point = {"threshold": 0.37, "low_threshold": 0.2, "objective": "dice", "source": "test"}
    store_operating_point(path, point, {"scans": ["a"]})
    info = load_checkpoint(path).info
    assert info.calibrated
    assert (info.operating_point.threshold, info.operating_point.low_threshold) == (0.37, 0.2)


def test_a_payload_without_its_patch_names_the_field(tmp_path):
    payload = read_checkpoint(_saved(tmp_path, "unet"))
    del payload["train_config"]["patches"]
    with pytest.raises(ConfigError, match="'patches'"):
        CheckpointInfo.from_payload(payload)
