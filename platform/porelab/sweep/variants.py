"""Sweeps of training variants: each (variant, fold) is a Tune trial that trains and scores one
TrainConfig through `porelab.sweep.trial.run_trial`, exactly like a cross-validation trial.

A `Variant` is a named set of `key=value` TrainConfig overrides (a loss setting, a training
budget) with, optionally, its own model and its own dataset directory (a label set). The FTL
search, the learning curve and the label swap are lists of variants. Each variant trains in
`OUT/trials/<variant>/` so trial run directories never collide, and each sweep stage is its own
Tune experiment under OUT: re-running with the same arguments restores it (finished trials
kept, errored ones retried).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from porelab.data.scans import require_dataset
from porelab.errors import ConfigError
from porelab.sweep.folds import Fold, make_folds
from porelab.sweep.resources import concurrent_trials, trial_resources
from porelab.sweep.results import TrialResults, collect_trials

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+@=-]*$")
ROW_COLUMNS = ["variant", "model", "fold", "split", "scan", "metric", "value"]


@dataclass(frozen=True)
class Variant:
    """One training variant: `overrides` apply on top of the sweep's; empty `model`/`data`: the sweep's."""

    name: str
    overrides: tuple[str, ...] = ()
    model: str = ""
    data: str = ""
    params: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError(f"variant name {self.name!r}: expected letters, digits and ._+@=- (it names a directory)")


@dataclass(frozen=True)
class SweepConfig:
    """What every variant shares: the dataset, the profile, the folds and the trial sizes."""

    data: str = "data/am"
    out: str = "runs/sweep-demo"
    model: str = "unet"
    folds: int = 5
    profile: str = "demo"
    overrides: tuple[str, ...] = ()
    trial_cpus: float = 0.1  # the trial's own process; it holds worker_cpus more when it trains in-process
    worker_cpus: float = 0.5
    max_concurrent: int = 0  # 0: as many as the cluster holds (`porelab.sweep.resources`)
    trial_resources: dict[str, float] = field(default_factory=dict)  # custom Ray resources each trial asks for
    verbose: bool = False  # Ray's worker output and Tune's status tables on the console too
    max_failures: int = 1


def check_variants(variants: list[Variant]) -> None:
    names = [v.name for v in variants]
    if not names:
        raise ConfigError("variant sweep: no variants; expected at least one")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"variant sweep: variant names {duplicates} repeat; expected unique names")


def variant_train_config(sweep: SweepConfig, variant: Variant, fold: Fold) -> dict[str, Any]:
    """The TrainConfig of one trial: profile, sweep overrides, variant overrides, one Train worker, the fold."""
    from porelab.sweep.cv import trial_train_config

    return trial_train_config(
        sweep.profile, variant.model or sweep.model, [*sweep.overrides, *variant.overrides], sweep.worker_cpus, fold
    )


def _scan_roles(root: Path) -> tuple[list[str], list[str]]:
    from porelab.sweep.cv import training_scans

    require_dataset(root)
    return training_scans(root)


def variant_plans(sweep: SweepConfig, variants: list[Variant]) -> dict[str, dict[str, Any]]:
    """What each trial trains, on which dataset, and where it is scored, keyed 'variant/fold'."""
    from porelab.simulate.datasets.manifest import degraded_copies

    check_variants(variants)
    plans: dict[str, dict[str, Any]] = {}
    for variant in variants:
        root = Path(variant.data or sweep.data)
        good, challenging = _scan_roles(root)
        for fold in make_folds(good, sweep.folds):
            plans[f"{variant.name}/{fold.index}"] = {
                "variant": variant.name,
                "model": variant.model or sweep.model,
                "fold": fold.index,
                "data": str(root.resolve()),
                "train": variant_train_config(sweep, variant, fold),
                "val_ids": list(fold.val_ids),
                "degraded_ids": degraded_copies(root, fold.val_ids),
                "challenging_ids": challenging,
            }
    return plans


def variant_trial(params: dict[str, Any], plans: dict[str, dict[str, Any]], trials_root: str) -> None:
    """Tune function trainable: train and score one (variant, fold), report its rows."""
    import ray.tune

    from porelab.sweep.trial import run_trial

    plan = plans[f"{params['variant']}/{params['fold']}"]
    report = run_trial({"trial": plan, "data": plan["data"], "trials_dir": str(Path(trials_root) / plan["variant"])})
    ray.tune.report({**report, "variant": plan["variant"]})


def _tuner(sweep: SweepConfig, variants: list[Variant], experiment: str, plans: dict[str, dict[str, Any]]) -> Any:
    from ray import tune

    from porelab.sweep.console import SweepConsole, sweep_run_config

    out = Path(sweep.out).resolve()
    trainable = tune.with_resources(
        tune.with_parameters(variant_trial, plans=plans, trials_root=str(out / "trials")),
        trial_resources(sweep.trial_cpus, sweep.worker_cpus, plans, sweep.trial_resources),
    )
    path = str(out / experiment)
    if tune.Tuner.can_restore(path):
        return tune.Tuner.restore(path, trainable, resume_errored=True)
    space = {
        "variant": tune.grid_search([v.name for v in variants]),
        "fold": tune.grid_search(list(range(sweep.folds))),
    }
    console = SweepConsole(len(plans), lambda c: f"{c['variant']} fold {c['fold']}")
    return tune.Tuner(
        trainable,
        param_space=space,
        tune_config=tune.TuneConfig(max_concurrent_trials=concurrent_trials(sweep)),
        run_config=sweep_run_config(experiment, out, sweep.max_failures, console, sweep.verbose),
    )


def collect_variants(grid: Any) -> TrialResults:
    """The reports of every finished trial of a variant sweep, each row and curve tagged with its variant."""
    return collect_trials(grid, key="variant", tag="variant", columns=ROW_COLUMNS)


def run_variants(sweep: SweepConfig, variants: list[Variant], experiment: str) -> TrialResults:
    """Run (or resume) the Tune experiment OUT/<experiment> of `variants` x folds."""
    from porelab.runtime import ensure_ray
    from porelab.sweep.console import announce_logs

    if not _NAME.match(experiment):
        raise ConfigError(f"sweep experiment name {experiment!r}: expected letters, digits and ._+@=-")
    plans = variant_plans(sweep, variants)  # bad input fails here, before Ray starts
    Path(sweep.out).mkdir(parents=True, exist_ok=True)
    ensure_ray(log_to_driver=sweep.verbose)
    announce_logs(sweep.out, sweep.verbose)
    return collect_variants(_tuner(sweep, variants, experiment, plans).fit())


def summarise_variants(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % CI across folds per variant, model, split and metric (`outputs.summarise` per variant)."""
    from porelab.sweep.outputs import summarise

    if rows.empty:
        return pd.DataFrame(columns=["variant", "model", "split", "metric", "mean", "ci_low", "ci_high", "n", "std"])
    frames = [
        summarise(group.drop(columns="variant")).assign(variant=name)
        for name, group in rows.groupby("variant", sort=False)
    ]
    summary = pd.concat(frames, ignore_index=True)
    return summary[["variant", *[c for c in summary.columns if c != "variant"]]]


def fold_values(rows: pd.DataFrame, variant: str, model: str, split: str, metric: str) -> pd.Series:
    """One value per fold (the mean over the split's scans) of one variant's model and metric."""
    mine = rows[(rows.variant == variant) & (rows.model == model) & (rows.split == split) & (rows.metric == metric)]
    return mine.groupby("fold")["value"].mean()


def write_sweep_report(
    out: str | Path, config: Any, table: pd.DataFrame, seconds: float, failed: int, findings: list[str]
) -> Path:
    """report.html of a variant sweep: `table` has model, fold, split, metric, value rows."""
    import os

    from porelab.config import to_dict
    from porelab.report import ReportData, Resources, write_report

    table = table.groupby(["model", "fold", "split", "metric"], as_index=False)["value"].mean()
    data = ReportData(
        run_name=Path(out).name,
        config=to_dict(config),
        results=table,
        findings=findings,
        resources=Resources(
            wall_time_s=seconds,
            cpus=float(os.cpu_count() or 1),
            gpus=0.0,
            trials=int(table[["model", "fold"]].drop_duplicates().shape[0]),
            failed_trials=failed,
        ),
    )
    return write_report(data, Path(out) / "report.html")
