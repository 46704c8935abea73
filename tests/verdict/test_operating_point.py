"""The operating point: its rules, and its round trip through a checkpoint, `predict` and the CLI."""

import json
import math

import pytest

from porelab import cli, volume
from porelab.errors import ConfigError
from porelab.infer.predict import predict
from porelab.infer.verdict_step import VerdictConfig, operating_point_for
from porelab.models import build_model
from porelab.checkpoint import read_checkpoint, save_checkpoint, store_operating_point
from porelab.train.config import profile
from porelab.verdict import OperatingPoint, stored_operating_point

from synthetic import sphere_scan

POINT = OperatingPoint(
    threshold=0.7,
    low_threshold=0.4,
    min_diameter_vox=2.5,
    objective="dice",
    source="the highest mean Dice on 3 held-out scans (a, a-p2-e50, a-p3-e25)",
    metrics={"dice": 0.81, "false_calls_per_cm3": 0.2, "pod_a50": float("nan")},
)
CANDIDATES = {
    "threshold": [0.9, 0.7, 0.5],
    "low_threshold": [0.9, 0.4, 0.3],
    "min_diameter_vox": [3.0, 2.5, 2.0],
    "dice": [0.6, 0.81, 0.7],
    "worst_dice": [0.5, 0.7, 0.6],
    "recall": [0.5, 0.8, 0.9],
    "hit_rate": [0.5, 0.8, 0.9],
    "false_calls_per_cm3": [0.0, 0.2, 3.0],
    "pod_a50": [3, 3, 3],
    "pod_a90": [5, 5, 5],
}


def _same(a, b):
    return json.dumps(a.to_dict(), sort_keys=True) == json.dumps(b.to_dict(), sort_keys=True)  # NaN-safe


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    from dataclasses import replace

    config = profile("demo")
    config = replace(
        config, model=replace(config.model, channels=(4, 8)), patches=replace(config.patches, patch=(16, 16, 16))
    )
    path = save_checkpoint(
        tmp_path_factory.mktemp("op") / "model.pt", build_model(config.model), config.to_dict(), epoch=1, metrics={}
    )
    store_operating_point(path, POINT.to_dict(), {"scans": ["a", "a-p2-e50", "a-p3-e25"], "candidates": CANDIDATES})
    return path


def test_round_trip_and_rules():
    assert _same(OperatingPoint.from_dict(POINT.to_dict()), POINT)
    assert OperatingPoint(0.6).grow_threshold == 0.6 and OperatingPoint(0.6).to_dict()["low_threshold"] == 0.6
    with pytest.raises(ConfigError, match="low_threshold=0.8: expected <= threshold 0.6"):
        OperatingPoint(0.6, 0.8)
    with pytest.raises(ConfigError, match=r"unknown fields \['seed'\]"):
        OperatingPoint.from_dict({"threshold": 0.5, "seed": 1})
    alone = POINT.overridden(threshold=0.55)  # alone: no hysteresis, no size limit
    assert (alone.threshold, alone.grow_threshold, alone.min_diameter_vox, alone.objective) == (0.55, 0.55, 0.0, "user")
    both = POINT.overridden(threshold=0.55, low_threshold=0.3, min_diameter_vox=4.0)
    assert (both.grow_threshold, both.min_diameter_vox) == (0.3, 4.0)
    assert POINT.overridden() is POINT


def test_the_checkpoint_holds_the_point_and_old_checkpoints_say_uncalibrated(calibrated, tmp_path):
    payload = read_checkpoint(calibrated)
    assert _same(stored_operating_point(payload), POINT) and payload["threshold"] == 0.7
    assert payload["calibration"]["scans"] == ["a", "a-p2-e50", "a-p3-e25"]
    old = stored_operating_point({"threshold": 0.5})
    assert old.objective == "default" and "not calibrated" in old.source


def test_a_false_call_rate_picks_from_the_stored_candidates(calibrated):
    payload = read_checkpoint(calibrated)
    point = operating_point_for(payload, None, False, VerdictConfig(false_calls_per_cm3=1.0))
    assert (point.threshold, point.low_threshold, point.objective) == (0.7, 0.4, "false_calls")  # most hits <= 1
    strict = operating_point_for(payload, None, False, VerdictConfig(false_calls_per_cm3=0.0))
    assert strict.threshold == 0.9
    with pytest.raises(ConfigError, match="no calibration table"):
        operating_point_for({"threshold": 0.5}, None, False, VerdictConfig(false_calls_per_cm3=1.0))


def test_predict_states_the_stored_point_and_the_user_overrides_it(calibrated, tmp_path, capsys):
    scan, _ = sphere_scan((24, 24, 24), [(12, 12, 12)], 4, seed=3)
    volume.write(scan, tmp_path / "s.npy")
    summary = predict(calibrated, tmp_path / "s.npy", tmp_path / "a")
    assert summary["operating_point"]["source"] == POINT.source and summary["threshold"] == 0.7
    assert (
        cli.main(
            [
                "predict",
                "--model",
                str(calibrated),
                "--input",
                str(tmp_path / "s.npy"),
                "--out",
                str(tmp_path / "b"),
                "--threshold",
                "0.6",
                "--json",
            ]
        )
        == 0
    )
    stated = json.loads(capsys.readouterr().out)["operating_point"]
    assert stated["objective"] == "user" and stated["threshold"] == 0.6 and stated["min_diameter_vox"] == 0.0
    assert math.isclose(json.loads((tmp_path / "b" / "summary.json").read_text())["threshold"], 0.6)


def test_a_training_run_is_calibrated_once_on_its_held_out_scans(tmp_path):
    from porelab.assess import calibrate_run
    from porelab.simulate.datasets.manifest import calibration_scans, read_manifest, write_manifest
    from porelab.train.run import TrainResult

    from synthetic import tiny_cv_dataset, trained_tiny_unet

    data = tiny_cv_dataset(tmp_path / "ds", selection=True)  # scan-0..2 good, 3 challenging, 4 selection
    manifest = read_manifest(data)
    copy = {
        **next(e for e in manifest["scans"] if e["id"] == "scan-2"),
        "id": "scan-2-p2-e50",
        "role": "degraded",
        "source": "scan-2",
    }
    write_manifest(data, {**manifest, "scans": manifest["scans"] + [copy]})
    assert calibration_scans(data, ["scan-2"]) == ["scan-2", "scan-2-p2-e50", "scan-4"]
    assert calibration_scans(data, ["scan-1"]) == ["scan-1", "scan-4"]

    checkpoint, _ = trained_tiny_unet(tmp_path / "unet", tmp_path / "best.pt")
    result = TrainResult(tmp_path, checkpoint, checkpoint, {"val_scans": ["scan-2"]})
    said = []
    point = calibrate_run(result, data, report=said.append)
    payload = read_checkpoint(checkpoint)
    assert sorted(payload["calibration"]["scans"]) == ["scan-2", "scan-2-p2-e50", "scan-4"]
    assert _same(stored_operating_point(payload), point) and point.objective == "dice"
    assert "3 held-out scans" in point.source and len(said) == 1
    stamp = checkpoint.stat().st_mtime_ns
    assert _same(calibrate_run(result, data, report=said.append), point)  # a second call keeps the point
    assert checkpoint.stat().st_mtime_ns == stamp and len(said) == 1
