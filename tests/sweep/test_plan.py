"""TrialPlan and plan_trials: every group on every fold, with the fold's scans, the group's
overrides, fixed training scans and fold seeds where the group asks for them."""

from __future__ import annotations

from porelab.sweep.folds import make_folds
from porelab.sweep.plan import TrialGroup, TrialPlan, plan_trials
from porelab.train.config import TrainConfig
from synthetic import tiny_cv_dataset

TINY = ("loop.max_epochs=1", "model.channels=[4,8]")


def test_a_plan_is_named_by_its_variant_or_model_and_fold():
    plan = TrialPlan("unet", 2, "/d", {"scaling": {"workers": 0}}, ("a",), ("a-p2",), ("s",), ("c",))
    assert (plan.key, plan.label, plan.in_process) == ("unet/2", "unet fold 2", True)
    assert plan.splits() == {"validation": ["a"], "degraded": ["a-p2"], "selection": ["s"], "challenging": ["c"]}
    variant = TrialPlan("unet", 0, "/d", {"scaling": {"workers": 1}}, ("a",), variant="alpha=0.7")
    assert (variant.key, variant.in_process) == ("alpha=0.7/0", False)


def test_groups_times_folds_with_their_scans_overrides_and_seeds(tmp_path):
    data = tiny_cv_dataset(tmp_path / "ds", selection=True)
    groups = [
        TrialGroup("unet", "unet", data, TINY),
        TrialGroup("vae@x", "vae", data, TINY, train_ids=("scan-9",), seed_with_fold=True, with_selection=False),
    ]
    plans = plan_trials(groups, folds=3, profile="demo", worker_cpus=0.25)
    assert list(plans) == ["unet/0", "unet/1", "unet/2", "vae@x/0", "vae@x/1", "vae@x/2"]
    folds = make_folds(["scan-0", "scan-1", "scan-2"], 3)
    for fold in folds:
        unet, vae = plans[f"unet/{fold.index}"], plans[f"vae@x/{fold.index}"]
        unet_train, vae_train = TrainConfig.from_dict(unet.train), TrainConfig.from_dict(vae.train)
        assert (unet_train.train_ids, unet_train.val_ids) == (fold.train_ids, fold.val_ids)
        assert (vae_train.train_ids, vae_train.val_ids) == (("scan-9",), fold.val_ids)
        assert vae_train.patches.seed == fold.index and vae_train.model.name == "vae"
        assert unet.selection_ids == ("scan-4",) and vae.selection_ids == ()
        assert unet.challenging_ids == ("scan-3",) and unet.data == str(data.resolve())
        assert unet_train.loop.max_epochs == 1 and unet_train.scaling.cpus_per_worker == 0.25
