"""Iuso et al.'s post-processing study as `jobs/anomaly_postprocess.py` runs it, at toy sizes:
one row per model on the held-out scan, AP of both maps against an independent implementation
(scikit-learn), and the files it writes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from porelab import volume
from porelab.assess.anomaly_experiment import (
    AnomalyExperimentConfig,
    PostprocessStudyConfig,
    postprocessing_effect,
    run_postprocess_study,
    train_anomaly_model,
)
from porelab.data.scans import load_scans
from porelab.infer.anomaly_maps import anomaly_scores
from porelab.infer.sliding import SlidingWindowConfig
from synthetic import sphere_scan, write_dataset

TOY = AnomalyExperimentConfig(
    patch=16, batch_size=2, epochs=1, steps_per_epoch=2, model_options={"channels": (4, 8), "latent_dim": 8}
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    scans = [
        (f"scan-{i}", "good" if i < 3 else "challenging", *sphere_scan((24, 24, 24), [(8, 8, 8), (16, 15, 14)], 3, i))
        for i in range(4)
    ]
    return write_dataset(root, scans)


def test_the_study_scores_the_held_out_scan_and_writes_its_rows(dataset, tmp_path):
    config = PostprocessStudyConfig(str(dataset), str(tmp_path / "out"), ("vae",), "scan-3", TOY)
    rows = run_postprocess_study(config, report=lambda line: None)
    assert [(r["model"], r["scan"]) for r in rows] == [("vae", "scan-3")]
    assert 0.0 <= rows[0]["ap_raw"] <= 1.0 and 0.0 <= rows[0]["ap_postprocessed"] <= 1.0
    written = json.loads((tmp_path / "out" / "anomaly_postprocess.json").read_text())
    assert written[0]["ap_raw"] == pytest.approx(rows[0]["ap_raw"])
    assert "| vae | scan-3 |" in (tmp_path / "out" / "anomaly_postprocess.md").read_text()


def test_both_aps_match_scikit_learn_on_the_same_maps(dataset):
    records = load_scans(dataset)
    test = next(r for r in records if r.id == "scan-3")
    model, _ = train_anomaly_model([r for r in records if r.role == "good"], TOY)
    effect = postprocessing_effect(model, test, TOY)
    scan = test.normaliser(np.asarray(volume.read(test.scan_path).data))
    truth = np.asarray(volume.read(test.label_path).data).ravel() > 0
    windows = SlidingWindowConfig(window=(16,) * 3, overlap=0.5, weighting="average")
    scores = anomaly_scores(scan, model, windows)
    assert effect["ap_raw"] == pytest.approx(average_precision_score(truth, scores.raw.ravel()), abs=1e-6)
    assert effect["ap_postprocessed"] == pytest.approx(
        average_precision_score(truth, scores.postprocessed.ravel()), abs=1e-6
    )
