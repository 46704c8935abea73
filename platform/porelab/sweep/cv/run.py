"""The main job: k-fold cross-validation of a list of models as Ray Tune trials.

A CV trial is planned here (`trial_plans`: one `TrialPlan` per model and fold), run by the one
sweep tuner (`porelab.sweep.tuner`) and trained, calibrated and scored by
`porelab.sweep.trial.run_trial`: it trains through `porelab.train.run.fit`, calibrates the
model's operating point on its validation scan, that scan's degraded re-simulations and the
dataset's selection scans (parts of other shapes, clean and degraded), then scores it there and
on the challenging scan. The run directory gathers everything; re-running the job with the same
directory restores the Tune experiment: finished trials are kept, errored ones retried.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from porelab.data.scans import require_dataset
from porelab.runtime import ensure_ray
from porelab.sweep.console import announce_logs
from porelab.sweep.cv.outputs import write_outputs
from porelab.sweep.cv.randomized_arm import EXPERIMENT as ARM_EXPERIMENT
from porelab.sweep.cv.randomized_arm import arm_plans
from porelab.sweep.cv.report_parts import sweep_parts
from porelab.sweep.folds import make_folds
from porelab.sweep.plan import TrialGroup, TrialPlan, plan_trials, training_scans
from porelab.sweep.results import collect_trials, merge_trials
from porelab.sweep.run_dir import start_run
from porelab.sweep.tuner import TrialSettings, run_trials

#: The papers' eight models trained from scratch, and the bundled detector fine-tuned per fold
#: (`porelab.sweep.tuned`).
DEFAULT_MODELS = ("unet", "unetpp", "unet3plus", "mss_unet", "vae", "cevae", "gmvae", "vqvae", "porelab-am-tuned")
_EXPERIMENT = "tune"


@dataclass(frozen=True)
class CVConfig(TrialSettings):
    """models x folds trials (the shared sweep fields in `TrialSettings`); `trial_cpus` and
    `max_concurrent` size them to the machine."""

    out: str = "runs/cv-demo"
    registry: str = "runs/registry"
    models: tuple[str, ...] = DEFAULT_MODELS
    select_metric: str = "dice"  # mean over the validation scans, their degraded copies and the selection scans
    include: tuple[str, ...] = ()  # FTL search / degradation run directories shown in the report
    randomized: str = ""  # a randomized dataset (am-randomized): the second arm trains there (empty: no arm)
    randomized_models: tuple[str, ...] = ()  # the arm's models (empty: `models`)


def model_groups(config: CVConfig, root: Path) -> list[TrialGroup]:
    """The cross-validation's rows: each model on the folds of `root`, with the run's overrides."""
    return [TrialGroup(name=m, model=m, data=root, overrides=tuple(config.overrides)) for m in config.models]


def trial_plans(config: CVConfig, root: Path) -> dict[str, TrialPlan]:
    """What each trial trains and where it is scored, keyed 'model/fold'."""
    return plan_trials(model_groups(config, root), config.folds, config.profile, config.worker_cpus)


def run_cv(config: CVConfig) -> dict[str, Any]:
    """Run (or resume) the cross-validation; write results, summary, registry entry and report."""
    root = Path(config.data)
    require_dataset(root)
    sweep_parts(config.include)  # a wrong --include fails now, not after hours of training
    out = start_run(config.out, config)
    arms = {_EXPERIMENT: trial_plans(config, root), ARM_EXPERIMENT: arm_plans(config, root)}
    ensure_ray(log_to_driver=config.verbose)
    announce_logs(out, config.verbose)
    start = time.perf_counter()
    collected = merge_trials([collect_trials(run_trials(plans, config, name)) for name, plans in arms.items() if plans])
    good, challenging = training_scans(root)
    return write_outputs(
        config, collected, root, make_folds(good, config.folds), challenging, time.perf_counter() - start
    )
