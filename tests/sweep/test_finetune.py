"""Fine-tuning on a user's part, end to end on a tiny part."""

import json

import numpy as np
import pytest

from porelab import volume
from porelab.errors import ConfigError
from porelab.infer.predict import predict
from porelab.sweep.detector.finetune import FinetuneConfig, finetune, scan_spec
from porelab.checkpoint import read_checkpoint

from synthetic import trained_tiny_unet


def _tube(shape=(32, 32, 32)):
    """A tube along z (outer radius 14, bore 8): a part with a bore open at both ends, wider
    than twice the surface radius (6), so the bore is no surface pore."""
    _, y, x = np.indices(shape)
    radius = np.hypot(y - shape[1] / 2 + 0.5, x - shape[2] / 2 + 0.5)
    part = (radius <= 14) & (radius > 8)
    part[:3], part[-3:] = False, False
    return part.astype(np.uint8)


@pytest.mark.ray
def test_finetuning_a_model_on_a_tiny_part_runs_end_to_end(tmp_path, ray_session):
    base, _ = trained_tiny_unet(tmp_path, tmp_path / "base.pt")
    volume.write(volume.Volume(_tube(), (0.1, 0.1, 0.1)), tmp_path / "part.tif")
    config = FinetuneConfig(
        model=str(base),
        part=str(tmp_path / "part.tif"),
        out=str(tmp_path / "ft"),
        scans=1,
        epochs=1,
        patches_per_epoch=8,
        scan_settings={"n_projections": 60, "tube_kv": 160},
    )
    record = finetune(config, report=lambda message: None)
    manifest = json.loads((tmp_path / "ft" / "data" / "manifest.json").read_text())
    assert [s["role"] for s in manifest["scans"]] == ["train", "validation", "test"]
    assert manifest["scans"][0]["scan"]["n_projections"] == 60
    assert record["train"]["train_scans"] == ["part-0-train"] and record["train"]["epochs"] == 1
    for figures in (record["base"], record["finetuned"]):
        assert 0.0 <= figures["dice"] <= 1.0 and figures["false_calls"] >= 0
    tuned = tmp_path / "ft" / "model"
    assert "operating_point" in read_checkpoint(tuned / "model.pt")
    assert read_checkpoint(tuned / "model.pt")["train_config"]["init_from"] == str(base)
    scan = tmp_path / "ft" / "data" / "part-2-test" / "scan.tif"
    summary = predict(tuned, scan, tmp_path / "pred")
    mask = volume.read(tmp_path / "pred" / "mask.tif").to_numpy()
    assert not (mask[_tube() == 0] > 0).any()  # nothing in the bore or the air
    assert summary["part_volume_mm3"] > 0


def test_scan_settings_are_checked_and_the_spectrum_is_built():
    spec = scan_spec({"exposure": 5000, "tube_kv": 150, "copper_filter_mm": 0.0}, 58, seed=1)
    assert spec.exposure == 5000 and spec.name == "user-scanner" and len(spec.spectrum_weights) == 5
    with pytest.raises(ConfigError, match=r"unknown fields \['kv'\]"):
        scan_spec({"kv": 150}, 58, seed=1)
    with pytest.raises(ConfigError, match="scans=0"):
        FinetuneConfig(model="m", part="p", out="o", scans=0)
