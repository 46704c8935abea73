"""The cross-validation's randomized arm: the derived dataset, the arm's trial plans, its findings,
and (with Ray) both arms in one run, scored on the same folds."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from porelab.data import load_scans
from porelab.errors import ConfigError
from porelab.sweep import CVConfig, run_cv
from porelab.sweep.cv.randomized_arm import arm_dataset, arm_findings, arm_name, arm_plans, arm_root
from porelab.checkpoint import read_checkpoint
from porelab.train.config import ARTEFACT_AUGMENT, TrainConfig
from synthetic import sphere_scan, tiny_cv_dataset, write_dataset

TINY = (
    "loop.max_epochs=1",
    "stream.patches_per_epoch=8",
    "stream.val_patches=4",
    "patches.patch=[16,16,16]",
    "model.channels=[4,8]",
)


def _randomized(root: Path, roles=("train", "train", "validation")) -> Path:
    scans = []
    for i, role in enumerate(roles):
        centres = [tuple(int(c) for c in np.random.default_rng(10 + i).integers(5, 19, 3)) for _ in range(3)]
        scan, labels = sphere_scan((24, 24, 24), centres, 2 + i % 2, seed=10 + i)
        scans.append((f"rand-{i}", role, scan, labels))
    return write_dataset(root, scans)


def test_arm_dataset_lists_both_sets_where_they_lie_and_is_stable(tmp_path):
    data, randomized = tiny_cv_dataset(tmp_path / "ds"), _randomized(tmp_path / "rand")
    target = arm_dataset(data, randomized, tmp_path / "arm")
    scans = {s.id: s for s in load_scans(target)}
    assert sorted(scans) == ["rand-0", "rand-1", "scan-0", "scan-1", "scan-2", "scan-3"]  # validation left out
    assert Path(scans["rand-1"].scan_path) == (randomized / "rand-1" / "scan.npy").resolve()
    assert Path(scans["scan-3"].scan_path) == (data / "scan-3" / "scan.npy").resolve()
    assert not (target / "rand-0").exists()  # nothing copied
    before = (target / "manifest.json").stat().st_mtime_ns
    arm_dataset(data, randomized, target)
    assert (target / "manifest.json").stat().st_mtime_ns == before  # a resumed run reads the same manifest


def test_arm_dataset_refuses_a_set_without_training_scans_or_with_clashing_ids(tmp_path):
    data = tiny_cv_dataset(tmp_path / "ds")
    with pytest.raises(ConfigError, match=r"manifest.json has no scan with role 'train'"):
        arm_dataset(data, _randomized(tmp_path / "r1", roles=("validation",)), tmp_path / "a1")
    clashing = write_dataset(tmp_path / "r2", [("scan-1", "train", *sphere_scan((16,) * 3, [(8, 8, 8)], 2, 0))])
    with pytest.raises(ConfigError, match=r"scan ids \['scan-1'\] are also in"):
        arm_dataset(data, clashing, tmp_path / "a2")


def test_arm_trials_train_on_the_randomized_scans_with_the_artefact_model_and_score_the_same_folds(tmp_path):
    from porelab.sweep.cv.run import trial_plans

    data, randomized = tiny_cv_dataset(tmp_path / "ds"), _randomized(tmp_path / "rand")
    config = CVConfig(
        data=str(data),
        out=str(tmp_path / "run"),
        models=("unet", "vae"),
        folds=3,
        randomized=str(randomized),
        randomized_models=("unet",),
        overrides=TINY,
    )
    paper, arm = trial_plans(config, data), arm_plans(config, data)
    assert sorted(arm) == [f"unet@randomized/{i}" for i in range(3)]
    for fold in range(3):
        mine, theirs = arm[f"unet@randomized/{fold}"], paper[f"unet/{fold}"]
        train = TrainConfig.from_dict(mine.train)
        assert train.train_ids == ("rand-0", "rand-1")
        assert train.val_ids == TrainConfig.from_dict(theirs.train).val_ids
        assert (mine.val_ids, mine.challenging_ids) == (theirs.val_ids, theirs.challenging_ids)
        assert train.patches.seed == fold
        assert train.patches.augment == ARTEFACT_AUGMENT
        assert train.loop.max_epochs == 1  # the run's overrides still apply
        assert Path(mine.data) == arm_root(config).resolve() and mine.model == "unet@randomized"
    assert arm_plans(CVConfig(data=str(data), models=("unet",)), data) == {}  # no randomized set: no arm


def test_arm_findings_put_the_two_arms_side_by_side():
    rows = [
        {"model": m, "split": "challenging", "metric": k, "mean": v, "ci_low": v - 0.1, "ci_high": v + 0.1, "n": 5}
        for m, k, v in [
            ("unet", "ap", 0.2),
            ("unet@randomized", "ap", 0.6),
            ("unet", "dice", 0.1),
            ("unet@randomized", "dice", 0.5),
            ("vae", "ap", 0.05),
        ]
    ]
    lines = arm_findings(pd.DataFrame(rows))
    assert len(lines) == 1
    assert "unet: ap 0.200 [0.100, 0.300] -> 0.600 [0.500, 0.700]; dice 0.100" in lines[0]
    assert arm_name("cevae") == "cevae@randomized"


@pytest.mark.ray
@pytest.mark.slow
def test_both_arms_in_one_run_are_scored_on_the_same_scans(tmp_path, ray_session):
    data, randomized = tiny_cv_dataset(tmp_path / "ds"), _randomized(tmp_path / "rand")
    config = CVConfig(
        data=str(data),
        out=str(tmp_path / "run"),
        registry=str(tmp_path / "registry"),
        models=("unet",),
        folds=2,
        overrides=TINY,
        max_concurrent=1,
        randomized=str(randomized),
    )
    summary = run_cv(config)
    results = pd.read_parquet(tmp_path / "run" / "results.parquet")
    assert set(results.model) == {"unet", "unet@randomized", "otsu"}
    scored = {
        m: set(map(tuple, results[results.model == m][["fold", "split", "scan"]].values))
        for m in ("unet", "unet@randomized")
    }
    assert scored["unet"] == scored["unet@randomized"]
    trained = read_checkpoint(tmp_path / "run" / "trials" / "unet@randomized-fold1" / "checkpoints" / "best.pt")
    assert trained["train_config"]["train_ids"] == ["rand-0", "rand-1"]
    assert any("paper arm -> randomized arm" in line and "unet:" in line for line in summary["findings"])
    assert "unet@randomized" in (tmp_path / "run" / "report.html").read_text()
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["failed_trials"] == []
