"""The cross-validation job end to end on a tiny dataset: outputs, registry, report, and resume
after the job is killed mid-run (finished trials are not retrained)."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from porelab.sweep import CVConfig, run_cv
from porelab.checkpoint import read_checkpoint
from synthetic import tiny_cv_dataset

REPO = Path(__file__).resolve().parents[2]
TINY = (
    "loop.max_epochs=2",
    "stream.patches_per_epoch=16",
    "stream.val_patches=8",
    "patches.patch=[16,16,16]",
    "model.channels=[4,8]",
)


def _dataset(root: Path) -> Path:
    return tiny_cv_dataset(root, selection=True)


@pytest.mark.ray
@pytest.mark.slow
def test_cv_resumes_after_being_killed_and_writes_every_output(tmp_path, ray_session):
    data = _dataset(tmp_path / "ds")
    out, registry = tmp_path / "run", tmp_path / "registry"
    args = [
        "--data",
        str(data),
        "--out",
        str(out),
        "--registry",
        str(registry),
        "--models",
        "unet",
        "--folds",
        "3",
        "--max-concurrent",
        "1",
    ] + [a for o in TINY for a in ("--set", o)]
    job = subprocess.Popen(
        [sys.executable, str(REPO / "jobs" / "cv.py"), *args],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 400
    while not list(out.glob("trials/*/evaluation.json")) and time.monotonic() < deadline and job.poll() is None:
        time.sleep(1)
    job.kill()  # the job dies with one trial finished and the others not
    job.wait()
    finished = list(out.glob("trials/*/evaluation.json"))
    assert finished, "no trial finished before the deadline"
    first = {p.parent.name: p.stat().st_mtime for p in finished}

    config = CVConfig(
        data=str(data),
        out=str(out),
        registry=str(registry),
        models=("unet",),
        folds=3,
        overrides=TINY,
        max_concurrent=1,
    )
    summary = run_cv(config)
    for name, mtime in first.items():  # finished trials were kept, not retrained or re-scored
        assert (out / "trials" / name / "evaluation.json").stat().st_mtime == mtime

    results = pd.read_parquet(out / "results.parquet")
    assert set(results.model) == {"unet", "otsu"}
    assert sorted(results[results.model == "unet"].fold.unique()) == [0, 1, 2]
    assert {"ap", "auc", "dice_best", "dice", "false_calls", "porosity_error_pp", "threshold"} <= set(results.metric)
    assert set(results.split) == {"validation", "selection", "challenging"}
    assert set(results[results.split == "selection"].scan) == {"scan-4"}
    assert summary["selected"]["model"] == "unet"
    assert {p.name for p in (registry / "unet").iterdir()} >= {
        "model.pt",
        "config.json",
        "metrics.json",
        "model_card.md",
    }
    served = read_checkpoint(registry / "unet" / "model.pt")  # calibrated on its fold's validation scan
    fold = summary["selected"]["fold"]
    assert served["operating_point"]["objective"] == "dice"
    assert served["calibration"]["scans"] == [*served["train_config"]["val_ids"], "scan-4"]
    stated = json.loads((registry / "unet" / "config.json").read_text())["operating_point"]
    assert json.dumps(stated, sort_keys=True) == json.dumps(
        served["operating_point"], sort_keys=True
    )  # NaN: POD not fitted
    assert results[(results.model == "unet") & (results.fold == fold) & (results.metric == "threshold")].value.iloc[
        0
    ] == pytest.approx(served["operating_point"]["threshold"])
    assert (registry / "unet" / "ood.pt").is_file()  # the OOD detector of the selected fold's training scans
    assert json.loads((out / "summary.json").read_text())["findings"]
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64") >= 2
    assert report.count('alt="slice overlay: unet (fold ') == 2  # its validation scan and the challenging one
