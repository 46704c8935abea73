"""Learning curve (Bertoldo et al.): validation AP and Dice against the share of training data used.

The share is the training-patch budget: a variant at fraction f draws round(f x N) training
patches per epoch (N = the profile's `stream.patches_per_epoch`, never fewer than one batch)
for the same number of epochs, on the same fold's training scans, so it sees f of the full
run's training patches. The training scans are not subsampled: with a leave-one-scan-out
fold there are only a handful of them (4 in the demo dataset), too few for a 1 % point.
`fraction_used` says what the rounding made of each fraction.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from porelab.errors import ConfigError
from porelab.evaluate import mean_ci
from porelab.sweep.run_dir import start_run
from porelab.sweep.variants.run import (
    SweepConfig,
    Variant,
    finish_variant_sweep,
    fold_values,
    run_variants,
)
from porelab.train.config import training_config

FRACTIONS = (0.01, 0.03, 0.1, 0.3, 1.0)
CURVE_METRICS = ("ap", "dice_best")


@dataclass(frozen=True)
class LearningCurveConfig:
    sweep: SweepConfig = field(default_factory=lambda: SweepConfig(out="runs/learning-curve-demo"))
    fractions: tuple[float, ...] = FRACTIONS

    def __post_init__(self) -> None:
        if not self.fractions or any(not 0 < f <= 1 for f in self.fractions):
            raise ConfigError(f"LearningCurveConfig.fractions = {list(self.fractions)}; expected values in (0, 1]")


def quick_curve(config: LearningCurveConfig) -> LearningCurveConfig:
    """Two points (a quarter and all of the data) on two folds."""
    return replace(config, fractions=(0.25, 1.0), sweep=replace(config.sweep, folds=min(config.sweep.folds, 2)))


def _full_budget(sweep: SweepConfig) -> tuple[int, int]:
    """(patches per epoch, batch size) of a full run under the sweep's profile and overrides."""
    train = training_config(sweep.profile, sweep.model, None, list(sweep.overrides))
    return train.stream.patches_per_epoch, train.batch_size


def fraction_variants(config: LearningCurveConfig) -> list[Variant]:
    full, batch = _full_budget(config.sweep)
    variants = []
    for fraction in config.fractions:
        patches = max(batch, round(fraction * full))
        variants.append(
            Variant(
                name=f"data-{fraction * 100:g}pct",
                overrides=(f"stream.patches_per_epoch={patches}",),
                params={
                    "fraction": float(fraction),
                    "fraction_used": patches / full,
                    "patches_per_epoch": float(patches),
                },
            )
        )
    return variants


def curve_table(rows: pd.DataFrame, variants: list[Variant], model: str) -> pd.DataFrame:
    """fraction, fraction_used, patches_per_epoch, split, metric, mean, ci_low, ci_high, n."""
    table = []
    for variant in variants:
        for split in ("validation", "challenging"):
            for metric in CURVE_METRICS:
                stats = mean_ci(fold_values(rows, variant.name, model, split, metric).to_numpy())
                table.append(
                    {
                        **variant.params,
                        "split": split,
                        "metric": metric,
                        "mean": stats.mean,
                        "ci_low": stats.ci_low,
                        "ci_high": stats.ci_high,
                        "n": stats.n,
                    }
                )
    return pd.DataFrame(table)


def _findings(curve: pd.DataFrame) -> list[str]:
    val = curve[curve.split == "validation"].pivot(index="fraction", columns="metric", values="mean")
    return [
        f"{fraction * 100:g} % of the training patches: validation AP {row.ap:.3f}, best Dice {row.dice_best:.3f}."
        for fraction, row in val.iterrows()
    ]


def run_learning_curve(config: LearningCurveConfig) -> dict[str, Any]:
    """Run (or resume) the sweep; write learning_curve.parquet, results.parquet, summary.json, report.html."""
    variants = fraction_variants(config)
    out = start_run(config.sweep.out, config)
    start = time.perf_counter()
    results = run_variants(config.sweep, variants, "learning-curve")
    curve = curve_table(results.rows, variants, config.sweep.model)
    curve.to_parquet(out / "learning_curve.parquet", index=False)
    findings = _findings(curve) if len(results.rows) else ["No trial finished."]
    named = results.rows.assign(model=results.rows.model + " " + results.rows.variant)
    curve_rows = json.loads(curve.to_json(orient="records"))
    return finish_variant_sweep(config, results, findings, start, named, curve=curve_rows)
