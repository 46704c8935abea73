"""What every sweep trial trains and where it is scored: the one typed `TrialPlan`.

The cross-validation is a sweep whose groups are models, its randomized arm one whose groups
train on another dataset, and the FTL search, learning curve and label swap ones whose groups
are variants of a TrainConfig. Each `TrialGroup` becomes one `TrialPlan` per fold, all trained
and scored by `porelab.sweep.trial.run_trial` through the one tuner (`porelab.sweep.tuner`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from porelab.simulate.datasets.manifest import degraded_copies, read_manifest, selection_scans
from porelab.sweep.folds import Fold, make_folds
from porelab.sweep.tuned import tuned_base, tuned_train_config
from porelab.train.config import ScalingSpec, training_config


@dataclass(frozen=True)
class TrialPlan:
    """One trial: `model` (its name in the tables) trained with `train` (a `TrainConfig.to_dict()`)
    on the dataset `data`, calibrated on its validation, degraded and selection scans and scored
    there and on the challenging ones. A variant sweep's trial also carries its `variant`."""

    model: str
    fold: int
    data: str
    train: dict[str, Any]
    val_ids: tuple[str, ...]
    degraded_ids: tuple[str, ...] = ()
    selection_ids: tuple[str, ...] = ()
    challenging_ids: tuple[str, ...] = ()
    variant: str = ""

    @property
    def key(self) -> str:
        """'unet/0', 'unet@randomized/3', 'alpha=0.7/1': unique within a sweep, a Tune grid value."""
        return f"{self.variant or self.model}/{self.fold}"

    @property
    def label(self) -> str:
        return f"{self.variant or self.model} fold {self.fold}"

    @property
    def in_process(self) -> bool:
        """Whether the trial's own process trains (no Ray Train workers)."""
        return self.train["scaling"]["workers"] == 0

    def splits(self) -> dict[str, list[str]]:
        """The scans of each split the trial is scored on."""
        return {
            "validation": list(self.val_ids),
            "degraded": list(self.degraded_ids),
            "selection": list(self.selection_ids),
            "challenging": list(self.challenging_ids),
        }


@dataclass(frozen=True)
class TrialGroup:
    """One row of a sweep, trained and scored on every fold of `data`'s good scans: a model of
    the cross-validation, a model of its randomized arm, or a variant.

    `reads`: the dataset the trials read when it is not `data` (the arm's derived set);
    `train_ids`: fixed training scans instead of the fold's (the arm trains on the randomized
    set's); `seed_with_fold`: the fold index as the patch sampler's seed.
    """

    name: str
    model: str
    data: Path
    overrides: tuple[str, ...] = ()
    variant: str = ""
    reads: Path | None = None
    train_ids: tuple[str, ...] = ()
    seed_with_fold: bool = False
    with_selection: bool = True


def training_scans(root: Path) -> tuple[list[str], list[str]]:
    """(ids of the 'good' scans that train and validate, ids of the 'challenging' scans)."""
    scans = read_manifest(root)["scans"]
    good = [s["id"] for s in scans if s["role"] == "good"]
    return good, [s["id"] for s in scans if s["role"] == "challenging"]


def trial_train_config(
    profile: str, model: str, overrides: list[str], worker_cpus: float, fold: Fold
) -> dict[str, Any]:
    """The TrainConfig of one trial: the profile, the overrides, the fold's scans, and the
    profile's workers with `worker_cpus` each (0 workers: the trial's own process trains)."""
    train = (
        tuned_train_config(profile, model, overrides)
        if tuned_base(model)
        else training_config(profile, model, None, overrides)
    )
    scaling = ScalingSpec(
        workers=train.scaling.workers,
        cpus_per_worker=worker_cpus,
        use_gpu=train.scaling.use_gpu,
        max_failures=train.scaling.max_failures,
    )
    return replace(train, train_ids=fold.train_ids, val_ids=fold.val_ids, scaling=scaling).to_dict()


def plan_trials(groups: list[TrialGroup], folds: int, profile: str, worker_cpus: float) -> dict[str, TrialPlan]:
    """Every group on every fold, keyed by `TrialPlan.key` (groups x folds, in that order)."""
    plans: dict[str, TrialPlan] = {}
    for group in groups:
        good, challenging = training_scans(group.data)
        selection = tuple(selection_scans(group.data)) if group.with_selection else ()
        for fold in make_folds(good, folds):
            seed = [f"patches.seed={fold.index}"] if group.seed_with_fold else []
            trained_on = replace(fold, train_ids=group.train_ids) if group.train_ids else fold
            plan = TrialPlan(
                model=group.name,
                fold=fold.index,
                data=str((group.reads or group.data).resolve()),
                train=trial_train_config(profile, group.model, [*seed, *group.overrides], worker_cpus, trained_on),
                val_ids=fold.val_ids,
                degraded_ids=tuple(degraded_copies(group.data, fold.val_ids)),
                selection_ids=selection,
                challenging_ids=tuple(challenging),
                variant=group.variant,
            )
            plans[plan.key] = plan
    return plans
