"""The main job: k-fold cross-validation of a list of models as Ray Tune trials.

Each (model, fold) is a Tune trial (a function trainable) that launches a `TorchTrainer`
through `porelab.train.run.fit`, calibrates the trained model's operating point on its
validation scan, that scan's degraded re-simulations and the dataset's selection scans (parts
of other shapes, clean and degraded), then scores it there and on the challenging scan. The
run directory gathers everything; re-running the job with the same directory restores the Tune
experiment: finished trials are kept, errored ones retried.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from porelab.config import to_dict
from porelab.data.scans import require_dataset
from porelab.simulate.datasets.manifest import degraded_copies, selection_scans
from porelab.sweep.folds import Fold, make_folds
from porelab.sweep.resources import concurrent_trials, trial_resources
from porelab.volume.atomic import write_text_atomic

#: The papers' eight models trained from scratch, and the bundled detector fine-tuned per fold
#: (`porelab.sweep.tuned`).
DEFAULT_MODELS = ("unet", "unetpp", "unet3plus", "mss_unet", "vae", "cevae", "gmvae", "vqvae", "porelab-am-tuned")
_EXPERIMENT = "tune"


@dataclass(frozen=True)
class CVConfig:
    """models x folds trials; `trial_cpus`/`max_concurrent` size them to the machine."""

    data: str = "data/am"
    out: str = "runs/cv-demo"
    registry: str = "runs/registry"
    models: tuple[str, ...] = DEFAULT_MODELS
    folds: int = 5
    profile: str = "demo"
    overrides: tuple[str, ...] = ()
    select_metric: str = "dice"  # mean over the validation scans, their degraded copies and the selection scans
    trial_cpus: float = 0.1  # the trial's own process; it holds worker_cpus more when it trains in-process
    worker_cpus: float = 0.5
    max_concurrent: int = 0  # 0: as many as the cluster's CPUs and memory hold (`trials_that_fit`)
    max_failures: int = 1  # retries of a trial that failed (e.g. its node was lost)
    trial_resources: dict[str, float] = field(default_factory=dict)  # custom Ray resources each trial asks for
    include: tuple[str, ...] = ()  # FTL search / degradation run directories shown in the report
    randomized: str = ""  # a randomized dataset (am-randomized): the second arm trains there (empty: no arm)
    randomized_models: tuple[str, ...] = ()  # the arm's models (empty: `models`)
    verbose: bool = False  # Ray's worker output and Tune's status tables on the console too


def training_scans(root: Path) -> tuple[list[str], list[str]]:
    """(ids of the 'good' scans that train and validate, ids of the 'challenging' scans)."""
    from porelab.simulate.datasets.manifest import read_manifest

    scans = read_manifest(root)["scans"]
    good = [s["id"] for s in scans if s["role"] == "good"]
    return good, [s["id"] for s in scans if s["role"] == "challenging"]


def trial_train_config(
    profile: str, model: str, overrides: list[str], worker_cpus: float, fold: Fold
) -> dict[str, Any]:
    """The TrainConfig of one trial: the profile, the overrides, the fold's scans, and the
    profile's workers with `worker_cpus` each (0 workers: the trial's own process trains)."""
    from porelab.sweep.tuned import tuned_base, tuned_train_config
    from porelab.train.config import ScalingSpec, training_config

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


def _trial_config(config: CVConfig, model: str, fold: Fold) -> dict[str, Any]:
    return trial_train_config(config.profile, model, list(config.overrides), config.worker_cpus, fold)


def trial_plans(config: CVConfig, root: Path) -> dict[str, dict[str, Any]]:
    """What each trial trains and where it is scored, keyed 'model/fold'."""
    good, challenging = training_scans(root)
    selection = selection_scans(root)
    return {
        f"{m}/{f.index}": {
            "model": m,
            "fold": f.index,
            "train": _trial_config(config, m, f),
            "val_ids": list(f.val_ids),
            "degraded_ids": degraded_copies(root, f.val_ids),
            "selection_ids": selection,
            "challenging_ids": challenging,
        }
        for m in config.models
        for f in make_folds(good, config.folds)
    }


def cv_trial(params: dict[str, Any], plans: dict[str, dict[str, Any]], data: str, trials_dir: str) -> None:
    """Tune function trainable: train one (model, fold), score it, report one row of metrics."""
    import ray.tune

    from porelab.sweep.trial import run_trial

    plan = plans[f"{params['model']}/{params['fold']}"]
    ray.tune.report(run_trial({"trial": plan, "data": plan.get("data", data), "trials_dir": trials_dir}))


def _tuner(config: CVConfig, root: Path, experiment: str, plans: dict[str, dict[str, Any]]) -> Any:
    from ray import tune

    from porelab.sweep.console import SweepConsole, sweep_run_config

    trainable = tune.with_resources(
        tune.with_parameters(
            cv_trial, plans=plans, data=str(root.resolve()), trials_dir=str((Path(config.out) / "trials").resolve())
        ),
        trial_resources(config.trial_cpus, config.worker_cpus, plans, config.trial_resources),
    )
    storage = str(Path(config.out).resolve())
    path = str(Path(storage) / experiment)
    if tune.Tuner.can_restore(path):
        return tune.Tuner.restore(path, trainable, resume_errored=True)
    models = list(dict.fromkeys(p["model"] for p in plans.values()))
    space = {"model": tune.grid_search(models), "fold": tune.grid_search(list(range(config.folds)))}
    console = SweepConsole(len(plans), lambda c: f"{c['model']} fold {c['fold']}")
    return tune.Tuner(
        trainable,
        param_space=space,
        tune_config=tune.TuneConfig(max_concurrent_trials=concurrent_trials(config)),
        run_config=sweep_run_config(experiment, storage, config.max_failures, console, config.verbose),
    )


def run_cv(config: CVConfig) -> dict[str, Any]:
    """Run (or resume) the cross-validation; write results, summary, registry entry and report."""
    from porelab.runtime import ensure_ray
    from porelab.sweep.console import announce_logs
    from porelab.sweep.outputs import write_outputs
    from porelab.sweep.randomized_arm import EXPERIMENT as ARM_EXPERIMENT
    from porelab.sweep.randomized_arm import arm_plans
    from porelab.sweep.results import collect_trials, merge_trials

    from porelab.sweep.report_parts import sweep_parts

    root = Path(config.data)
    require_dataset(root)
    sweep_parts(config.include)  # a wrong --include fails now, not after hours of training
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "config.json", json.dumps(to_dict(config), indent=2) + "\n")
    arms = {_EXPERIMENT: trial_plans(config, root), ARM_EXPERIMENT: arm_plans(config, root)}
    ensure_ray(log_to_driver=config.verbose)
    announce_logs(out, config.verbose)
    start = time.perf_counter()
    collected = merge_trials(
        [collect_trials(_tuner(config, root, name, plans).fit()) for name, plans in arms.items() if plans]
    )
    good, challenging = training_scans(root)
    return write_outputs(
        config, collected, root, make_folds(good, config.folds), challenging, time.perf_counter() - start
    )
