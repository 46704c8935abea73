"""The Focal Tversky search of Iuso et al. (Tables 1-2): an alpha x beta grid x folds at a fixed
gamma, then gamma x folds at the (alpha, beta) with the best mean validation AP.

Each point is a `Variant` of the segmentation task's loss options (`task_options.loss`,
`alpha`, `beta`, `gamma`; alpha weights false negatives, see `porelab.losses`). A point is
named by its three numbers, so the gamma stage's point at the fixed gamma is the grid's own
trial: it is found finished in OUT/trials and not trained again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from porelab.config import to_dict
from porelab.errors import ConfigError
from porelab.evaluate import mean_ci
from porelab.report import ReportData, format_mean_ci, write_report
from porelab.sweep.results import TrialResults
from porelab.sweep.run_dir import run_resources, start_run, write_summary
from porelab.sweep.variants.run import SweepConfig, Variant, fold_values, run_variants, summarise_variants

GRID = (0.1, 0.37, 0.63, 0.9)
GAMMAS = (1 / 3, 1 / 2, 2 / 3, 1.0, 4 / 3, 3 / 2, 5 / 3, 2.0)
FIXED_GAMMA = 0.5


@dataclass(frozen=True)
class FTLSearchConfig:
    """The grids and the validation metric that picks (alpha, beta); `sweep` holds data, folds, sizes."""

    sweep: SweepConfig = field(default_factory=lambda: SweepConfig(out="runs/ftl-demo"))
    alphas: tuple[float, ...] = GRID
    betas: tuple[float, ...] = GRID
    gammas: tuple[float, ...] = GAMMAS
    fixed_gamma: float = FIXED_GAMMA
    metric: str = "ap"

    def __post_init__(self) -> None:
        for name in ("alphas", "betas", "gammas"):
            values = getattr(self, name)
            if not values or any(v <= 0 for v in values):
                raise ConfigError(
                    f"FTLSearchConfig.{name} = {list(values)}; expected a non-empty list of positive numbers"
                )
        if self.fixed_gamma <= 0:
            raise ConfigError(f"FTLSearchConfig.fixed_gamma = {self.fixed_gamma}; expected > 0")


def quick_search(config: FTLSearchConfig) -> FTLSearchConfig:
    """The smallest search that still has a grid and a gamma curve: 2 x 2 (alpha, beta), 2 gammas, 2 folds."""
    return replace(
        config,
        alphas=(config.alphas[0], config.alphas[-1]),
        betas=(config.betas[0], config.betas[-1]),
        gammas=(config.fixed_gamma, 1.0 if config.fixed_gamma != 1.0 else 2.0),
        sweep=replace(config.sweep, folds=min(config.sweep.folds, 2)),
    )


def ftl_variant(alpha: float, beta: float, gamma: float) -> Variant:
    return Variant(
        name=f"ftl-a{alpha:.3f}-b{beta:.3f}-g{gamma:.3f}",
        overrides=(
            "task_options.loss=focal_tversky",
            f"task_options.alpha={alpha!r}",
            f"task_options.beta={beta!r}",
            f"task_options.gamma={gamma!r}",
        ),
        params={"alpha": float(alpha), "beta": float(beta), "gamma": float(gamma)},
    )


def grid_variants(config: FTLSearchConfig) -> list[Variant]:
    return [ftl_variant(a, b, config.fixed_gamma) for a in config.alphas for b in config.betas]


def gamma_variants(config: FTLSearchConfig, alpha: float, beta: float) -> list[Variant]:
    return [ftl_variant(alpha, beta, g) for g in config.gammas]


def _point_table(rows: pd.DataFrame, variants: list[Variant], model: str, metric: str) -> pd.DataFrame:
    """alpha, beta, gamma, mean, ci_low, ci_high, n of the folds' validation `metric` per variant."""
    table = []
    for variant in variants:
        stats = mean_ci(fold_values(rows, variant.name, model, "validation", metric).to_numpy())
        table.append(
            {
                **variant.params,
                "variant": variant.name,
                "mean": stats.mean,
                "ci_low": stats.ci_low,
                "ci_high": stats.ci_high,
                "n": stats.n,
            }
        )
    return pd.DataFrame(table)


def ftl_grid_table(rows: pd.DataFrame, variants: list[Variant], model: str, metric: str = "ap") -> pd.DataFrame:
    """The report's heatmap: alpha, beta, value (mean over folds), ci_low, ci_high, n."""
    table = _point_table(rows, variants, model, metric).rename(columns={"mean": "value"})
    return table[["alpha", "beta", "value", "ci_low", "ci_high", "n", "variant"]]


def gamma_table(rows: pd.DataFrame, variants: list[Variant], model: str, metric: str = "ap") -> pd.DataFrame:
    """The report's gamma curve: gamma, mean, ci_low, ci_high, n (and the fixed alpha, beta)."""
    table = _point_table(rows, variants, model, metric)
    return table[["gamma", "mean", "ci_low", "ci_high", "n", "alpha", "beta", "variant"]]


def best_point(table: pd.DataFrame, column: str) -> pd.Series:
    """The row with the highest mean (the first in grid order on a tie); an error when no point has a score."""
    scored = table[table[column].notna()]
    if scored.empty:
        raise ConfigError("FTL search: no grid point finished with a validation score; see the failed trials")
    return scored.loc[scored[column].idxmax()]


def _report(
    config: FTLSearchConfig,
    rows: pd.DataFrame,
    grid: pd.DataFrame,
    gammas: pd.DataFrame,
    seconds: float,
    failed: int,
    findings: list[str],
) -> Path:
    table = rows.assign(model=rows.variant + " " + rows.model)
    table = table.groupby(["model", "fold", "split", "metric"], as_index=False)["value"].mean()
    data = ReportData(
        run_name=Path(config.sweep.out).name,
        config=to_dict(config),
        results=table,
        findings=findings,
        ftl_grid=grid if grid["value"].notna().any() else None,
        gamma_curve=gammas if gammas["mean"].notna().any() else None,
        ftl_metric=f"validation {config.metric.upper()}",
        resources=run_resources(seconds, table[["model", "fold"]].drop_duplicates().shape[0], failed),
    )
    return write_report(data, Path(config.sweep.out) / "report.html")


def _interval(mean: float, low: float, high: float, metric: str, n: int) -> str:
    """The mean and its 95 % interval, clipped to the metric's range as the report shows them."""
    return format_mean_ci(float(mean), (float(high) - float(low)) / 2, metric, n)


def _findings(best: pd.Series, best_gamma: pd.Series, metric: str) -> list[str]:
    n = int(best["n"])
    return [
        f"Best (alpha, beta) at gamma = {best['gamma']:.3g}: "
        f"({best['alpha']:.2f}, {best['beta']:.2f}), mean validation {metric} "
        f"{_interval(best['value'], best['ci_low'], best['ci_high'], metric, n)} (95 % CI, {n} folds).",
        f"Best gamma at that point: {best_gamma['gamma']:.3f}, mean validation {metric} "
        f"{_interval(best_gamma['mean'], best_gamma['ci_low'], best_gamma['ci_high'], metric, int(best_gamma['n']))} "
        "(95 % CI).",
    ]


def _stage_rows(results: TrialResults, stage: str) -> pd.DataFrame:
    return results.rows.assign(stage=stage)


def run_ftl_search(config: FTLSearchConfig) -> dict[str, Any]:
    """Run (or resume) both stages; write ftl_grid.parquet, gamma.parquet, results.parquet, summary.json, report."""
    out = start_run(config.sweep.out, config)
    start = time.perf_counter()
    model = config.sweep.model
    grid_points = grid_variants(config)
    stage1 = run_variants(config.sweep, grid_points, "ftl-grid")
    grid = ftl_grid_table(stage1.rows, grid_points, model, config.metric)
    grid.to_parquet(out / "ftl_grid.parquet", index=False)
    best = best_point(grid.assign(gamma=config.fixed_gamma), "value")
    gamma_points = gamma_variants(config, float(best["alpha"]), float(best["beta"]))
    stage2 = run_variants(config.sweep, gamma_points, "ftl-gamma")
    gammas = gamma_table(stage2.rows, gamma_points, model, config.metric)
    gammas.to_parquet(out / "gamma.parquet", index=False)
    rows = pd.concat([_stage_rows(stage1, "grid"), _stage_rows(stage2, "gamma")], ignore_index=True)
    rows.to_parquet(out / "results.parquet", index=False)
    findings = _findings(best, best_point(gammas, "mean"), config.metric)
    failed = stage1.failed + stage2.failed
    seconds = time.perf_counter() - start
    report = _report(config, rows, grid, gammas, seconds, len(failed), findings)
    return write_summary(
        out,
        findings,
        seconds,
        report,
        failed,
        best={"alpha": float(best["alpha"]), "beta": float(best["beta"]), config.metric: float(best["value"])},
        best_gamma=float(best_point(gammas, "mean")["gamma"]),
        summary=json.loads(summarise_variants(rows.drop(columns="stage")).to_json(orient="records")),
    )
