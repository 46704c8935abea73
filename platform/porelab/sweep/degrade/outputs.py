"""What a degradation run leaves behind: degradation.parquet, report.html (its "Degraded scans"
section) and summary.json with the sentences the report shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from porelab.assess import BASELINE
from porelab.config import to_dict
from porelab.report import ReportData, write_report
from porelab.sweep.degrade.grid import GRID, SERIES
from porelab.sweep.run_dir import run_resources, write_summary

TABLE = "degradation.parquet"
METRIC_NAMES = {
    "dice": "Dice at the model's operating point (Otsu: its mask)",
    "dice_best": "best Dice",
    "ap": "AP",
    "auc": "ROC AUC",
    "iou": "IoU at the model's operating point",
    "false_calls": "false calls at the model's operating point",
    "porosity_error_pp": "porosity error (percentage points)",
}


def _metric(table: pd.DataFrame, metric: str, series: str) -> pd.DataFrame:
    return table[(table.series == series) & (table.metric == metric)]


def _value(rows: pd.DataFrame, model: str, projections: float, exposure: float) -> float:
    hit = rows[(rows.model == model) & (rows.projections == projections) & (rows.exposure == exposure)]
    return float(hit.value.iloc[0])


def _grid_findings(table: pd.DataFrame, metric: str) -> list[str]:
    rows = _metric(table, metric, GRID)
    if rows.empty:
        return []
    best = (rows.projections.max(), rows.exposure.max())
    worst = (rows.projections.min(), rows.exposure.min())
    lines = [
        f"{model}: {metric} {_value(rows, model, *best):.3f} at {best[0]:g} % projections and {best[1]:g} % "
        f"exposure, {_value(rows, model, *worst):.3f} at {worst[0]:g} % and {worst[1]:g} %."
        for model in rows.model.unique()
    ]
    wide = rows.pivot_table(index=["projections", "exposure"], columns="model", values="value")
    for model in (m for m in wide.columns if m != BASELINE):
        wins = int((wide[model] > wide[BASELINE]).sum())
        lines.append(f"{model} beats the Otsu baseline's {metric} at {wins} of {len(wide)} settings.")
    return lines


def _series_findings(table: pd.DataFrame, metric: str) -> list[str]:
    rows = _metric(table, metric, SERIES)
    if rows.empty:
        return []
    counts = " -> ".join(str(n) for n in rows.drop_duplicates("projections").n_projections)
    parts = [
        "{}: {}".format(model, " -> ".join(f"{v:.3f}" for v in group.value))
        for model, group in rows.groupby("model", sort=False)
    ]
    return [
        f"Fuchs et al.'s projection series ({counts} projections, full exposure), {metric}: " + "; ".join(parts) + "."
    ]


def findings(table: pd.DataFrame, metric: str) -> list[str]:
    """Full against worst quality per model, wins over Otsu, and the projection series."""
    return _grid_findings(table, metric) + _series_findings(table, metric)


def headline_results(table: pd.DataFrame) -> pd.DataFrame:
    """The full-quality point as the report's results table (one "fold", the challenging split)."""
    grid = table[table.series == GRID]
    full = grid[(grid.projections == grid.projections.max()) & (grid.exposure == grid.exposure.max())]
    return full.assign(fold=0, split="challenging")[["model", "fold", "split", "metric", "value"]]


def degradation_plot_table(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The projections x exposure grid of one metric, as the report's degradation plot takes it."""
    return _metric(table, metric, GRID)[["projections", "exposure", "model", "value"]]


def write_degradation_report(config: Any, table: pd.DataFrame, lines: list[str], seconds: float) -> Path:
    plotted = degradation_plot_table(table, config.report_metric)
    settings = table[["series", "projections", "exposure"]].drop_duplicates().shape[0]
    data = ReportData(
        run_name=Path(config.out).name,
        config=to_dict(config),
        results=headline_results(table),
        findings=lines,
        degradation=plotted if len(plotted) else None,
        baseline=BASELINE,
        degradation_metric=METRIC_NAMES.get(config.report_metric, config.report_metric),
        resources=run_resources(seconds, settings),
    )
    return write_report(data, Path(config.out) / "report.html")


def write_degradation_outputs(
    config: Any, table: pd.DataFrame, source: dict[str, str], seconds: float
) -> dict[str, Any]:
    """degradation.parquet, report.html, summary.json; returns summary.json's content."""
    out = Path(config.out)
    table.to_parquet(out / TABLE, index=False)
    lines = findings(table, config.report_metric)
    report = write_degradation_report(config, table, lines, seconds)
    points = int(table[["series", "projections", "exposure"]].drop_duplicates().shape[0])
    return write_summary(out, lines, seconds, report, **source, points=points, table=str(out / TABLE))
