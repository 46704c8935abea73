"""The bundled detector as a cross-validation candidate: its trial config, a trial that starts
from the bundled weights, and the scan check the registry copies."""

from pathlib import Path

import pytest
import torch

from porelab.bundled import bundled_config, bundled_model
from porelab.checksum import sha256
from porelab.models import build_model
from porelab.sweep.cv.run import CVConfig, trial_plans
from porelab.sweep.trial import run_trial
from porelab.sweep.tuned import LR_FACTOR, copy_bundled_ood, tuned_base, tuned_train_config
from porelab.checkpoint import read_checkpoint
from porelab.train.config import TrainConfig, profile
from synthetic import tiny_cv_dataset

TINY = ["loop.max_epochs=1", "stream.patches_per_epoch=8", "stream.val_patches=4", "patches.patch=[16,16,16]"]


def test_only_bundled_names_with_the_suffix_are_tuned_candidates():
    assert tuned_base("porelab-am-tuned") == "porelab-am"
    assert tuned_base("porelab-am") is None and tuned_base("unet-tuned") is None and tuned_base("unet") is None


def test_the_candidate_keeps_the_bundle_and_takes_the_profile_budget():
    bundle = bundled_config("porelab-am")["train_config"]
    demo = profile("demo")
    config = tuned_train_config("demo", "porelab-am-tuned", ["loop.patience=2"])
    assert list(config.model.channels) == bundle["model"]["channels"] and config.model.name == bundle["model"]["name"]
    assert config.patches.augment.rings == bundle["patches"]["augment"]["rings"] > 0  # the artefact augmentation
    assert config.init_from == str(bundled_model("porelab-am"))
    assert (config.loop.max_epochs, config.stream.patches_per_epoch, config.stream.val_patches) == (
        demo.loop.max_epochs,
        demo.stream.patches_per_epoch,
        demo.stream.val_patches,
    )
    assert config.loop.lr == pytest.approx(LR_FACTOR * demo.loop.lr) and config.loop.patience == 2
    assert config.scaling == demo.scaling and not config.train_ids and not config.val_ids


def test_the_registry_copy_of_the_scan_check_is_the_bundled_file(tmp_path):
    record = copy_bundled_ood("porelab-am-tuned", tmp_path)
    assert sha256(tmp_path / "ood.pt") == bundled_config("porelab-am")["ood_sha256"]
    assert record["copied_from"] == "bundled porelab-am" and record["scans"] and record["slices"] > 0
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.ray
@pytest.mark.slow
def test_a_tuned_trial_starts_from_the_bundled_weights_and_is_scored_on_the_selection_scan(tmp_path, ray_session):
    data = tiny_cv_dataset(tmp_path / "ds", selection=True)
    config = CVConfig(data=str(data), models=("porelab-am-tuned",), folds=3, overrides=tuple(TINY))
    plan = trial_plans(config, Path(data))["porelab-am-tuned/0"]
    assert plan.selection_ids == ("scan-4",) and plan.train["train_ids"] == ["scan-1", "scan-2"]
    report = run_trial(plan, tmp_path / "trials")
    assert {r["split"] for r in report["rows"]} == {"validation", "selection", "challenging"}
    tuned = read_checkpoint(report["checkpoint"])
    assert tuned["calibration"]["scans"] == ["scan-0", "scan-4"]
    bundled = read_checkpoint(bundled_model("porelab-am"))["state_dict"]
    fresh = build_model(TrainConfig.from_dict(plan.train).model).state_dict()

    def distance(weights):  # relative to the bundled weights' length; learned tensors only, no BN statistics
        keys = [k for k, v in bundled.items() if v.is_floating_point() and "running" not in k]
        change = torch.sqrt(sum(((weights[k].float() - bundled[k].float()) ** 2).sum() for k in keys))
        return float(change / torch.sqrt(sum((bundled[k].float() ** 2).sum() for k in keys)))

    # one epoch of two steps at 3e-4 stays close to where it started; a fresh initialisation does not
    assert distance(tuned["state_dict"]) < 0.1 < 0.5 < distance(fresh)
