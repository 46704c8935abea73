"""The one Ray Tune experiment every sweep runs: a grid over its `TrialPlan`s, each trial trained
and scored by `run_trial`, with the sweep console, the trial resources and resumption.

Re-running with the same OUT/<experiment> restores the experiment: finished trials are kept,
errored ones retried.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ray import tune

from porelab.sweep.console import SweepConsole, sweep_run_config
from porelab.sweep.plan import TrialPlan
from porelab.sweep.resources import concurrent_trials, trial_resources
from porelab.sweep.trial import run_trial


@dataclass(frozen=True)
class TrialSettings:
    """What every sweep shares (`CVConfig` and `SweepConfig` extend it): the dataset, the run
    directory, the folds, the training profile and overrides, and how its trials run (how big,
    how many at once, how often retried)."""

    data: str = "data/am"
    out: str = "runs/sweep"
    folds: int = 5
    profile: str = "demo"
    overrides: tuple[str, ...] = ()
    trial_cpus: float = 0.1  # the trial's own process; it holds worker_cpus more when it trains in-process
    worker_cpus: float = 0.5
    max_concurrent: int = 0  # 0: as many as the cluster's CPUs and memory hold (`trials_that_fit`)
    max_failures: int = 1  # retries of a trial that failed (e.g. its node was lost)
    trial_resources: dict[str, float] = field(default_factory=dict)  # custom Ray resources each trial asks for
    verbose: bool = False  # Ray's worker output and Tune's status tables on the console too


def _plan_key(params: dict[str, Any]) -> str:
    if "trial" in params:
        return str(params["trial"])
    return f"{params.get('variant') or params['model']}/{params['fold']}"  # experiments of earlier versions


def _label(params: dict[str, Any]) -> str:
    name, fold = _plan_key(params).rsplit("/", 1)
    return f"{name} fold {fold}"


def sweep_trial(params: dict[str, Any], plans: dict[str, TrialPlan], trials_root: str) -> None:
    """The Tune function trainable of every sweep: train and score one plan, report its rows.
    A variant's trials train in `trials_root/<variant>/` so run directories never collide."""
    plan = plans[_plan_key(params)]
    trials_dir = Path(trials_root) / plan.variant if plan.variant else Path(trials_root)
    report = run_trial(plan, trials_dir)
    tune.report({**report, "variant": plan.variant} if plan.variant else report)


def sweep_tuner(plans: dict[str, TrialPlan], settings: TrialSettings, experiment: str) -> tune.Tuner:
    """The Tuner of OUT/<experiment> over `plans` (restored when that experiment exists)."""
    out = Path(settings.out).resolve()
    trainable = tune.with_resources(
        tune.with_parameters(sweep_trial, plans=plans, trials_root=str(out / "trials")),
        trial_resources(settings.trial_cpus, settings.worker_cpus, list(plans.values()), settings.trial_resources),
    )
    path = str(out / experiment)
    if tune.Tuner.can_restore(path):
        return tune.Tuner.restore(path, trainable, resume_errored=True)
    console = SweepConsole(len(plans), _label)
    return tune.Tuner(
        trainable,
        param_space={"trial": tune.grid_search(list(plans))},
        tune_config=tune.TuneConfig(max_concurrent_trials=concurrent_trials(settings)),
        run_config=sweep_run_config(experiment, str(out), settings.max_failures, console, settings.verbose),
    )


def run_trials(plans: dict[str, TrialPlan], settings: TrialSettings, experiment: str) -> Any:
    """Run (or resume) the experiment OUT/<experiment>; its Tune result grid."""
    return sweep_tuner(plans, settings, experiment).fit()
