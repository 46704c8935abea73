"""Sweeps of training variants: each (variant, fold) is a `TrialPlan` that the one sweep tuner
(`porelab.sweep.tuner`) trains and scores through `porelab.sweep.trial.run_trial`, exactly like
a cross-validation trial.

A `Variant` is a named set of `key=value` TrainConfig overrides (a loss setting, a training
budget) with, optionally, its own model and its own dataset directory (a label set). The FTL
search, the learning curve and the label swap are lists of variants. Each variant trains in
`OUT/trials/<variant>/` so trial run directories never collide, and each sweep stage is its own
Tune experiment under OUT: re-running with the same arguments restores it (finished trials
kept, errored ones retried).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from porelab.config import to_dict
from porelab.data.scans import require_dataset
from porelab.errors import ConfigError
from porelab.report import ReportData, write_report
from porelab.runtime import ensure_ray
from porelab.sweep.console import announce_logs
from porelab.sweep.plan import TrialGroup, TrialPlan, plan_trials
from porelab.sweep.results import TrialResults, collect_trials, summarise
from porelab.sweep.run_dir import run_resources, write_summary
from porelab.sweep.tuner import TrialSettings, run_trials

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
class SweepConfig(TrialSettings):
    """What every variant shares (the shared sweep fields in `TrialSettings`) and the model they train."""

    out: str = "runs/sweep-demo"
    model: str = "unet"


def check_variants(variants: list[Variant]) -> None:
    names = [v.name for v in variants]
    if not names:
        raise ConfigError("variant sweep: no variants; expected at least one")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"variant sweep: variant names {duplicates} repeat; expected unique names")


def variant_plans(sweep: SweepConfig, variants: list[Variant]) -> dict[str, TrialPlan]:
    """What each trial trains, on which dataset, and where it is scored, keyed 'variant/fold'."""
    check_variants(variants)
    groups = []
    for variant in variants:
        root = Path(variant.data or sweep.data)
        require_dataset(root)
        model = variant.model or sweep.model
        overrides = (*sweep.overrides, *variant.overrides)
        groups.append(
            TrialGroup(
                name=model, model=model, data=root, overrides=overrides, variant=variant.name, with_selection=False
            )
        )
    return plan_trials(groups, sweep.folds, sweep.profile, sweep.worker_cpus)


def collect_variants(grid: Any) -> TrialResults:
    """The reports of every finished trial of a variant sweep, each row and curve tagged with its variant."""
    return collect_trials(grid, key="variant", tag="variant", columns=ROW_COLUMNS)


def run_variants(sweep: SweepConfig, variants: list[Variant], experiment: str) -> TrialResults:
    """Run (or resume) the Tune experiment OUT/<experiment> of `variants` x folds."""
    if not _NAME.match(experiment):
        raise ConfigError(f"sweep experiment name {experiment!r}: expected letters, digits and ._+@=-")
    plans = variant_plans(sweep, variants)  # bad input fails here, before Ray starts
    Path(sweep.out).mkdir(parents=True, exist_ok=True)
    ensure_ray(log_to_driver=sweep.verbose)
    announce_logs(sweep.out, sweep.verbose)
    return collect_variants(run_trials(plans, sweep, experiment))


def summarise_variants(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % CI across folds per variant, model, split and metric (`results.summarise` per variant)."""
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
    table = table.groupby(["model", "fold", "split", "metric"], as_index=False)["value"].mean()
    data = ReportData(
        run_name=Path(out).name,
        config=to_dict(config),
        results=table,
        findings=findings,
        resources=run_resources(seconds, table[["model", "fold"]].drop_duplicates().shape[0], failed),
    )
    return write_report(data, Path(out) / "report.html")


def finish_variant_sweep(
    config: Any, results: TrialResults, findings: list[str], start: float, named: pd.DataFrame, **extra: Any
) -> dict[str, Any]:
    """results.parquet, report.html (when a trial finished; `named`: the rows with the model
    column the report shows) and summary.json (with the summary across folds and `extra`) of the
    variant sweep `config` (its `sweep` holds the run directory); summary.json's content."""
    out = Path(config.sweep.out)
    results.rows.to_parquet(out / "results.parquet", index=False)
    seconds = time.perf_counter() - start
    failed = len(results.failed)
    report = write_sweep_report(out, config, named, seconds, failed, findings) if len(results.rows) else None
    summary = json.loads(summarise_variants(results.rows).to_json(orient="records"))
    return write_summary(out, findings, seconds, report, results.failed, **extra, summary=summary)
