"""The reports of a sweep's finished trials, gathered from a Tune result grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from porelab.evaluate import summarise_folds

METRIC_ROW_COLUMNS = ["model", "fold", "split", "scan", "metric", "value"]


@dataclass(frozen=True)
class TrialResults:
    """Metric rows (one per trial, split, scan and metric), report curves, checkpoints by
    (trial key, fold), and the errors of the trials that failed."""

    rows: pd.DataFrame
    curves: list[dict[str, Any]]
    checkpoints: dict[tuple[str, int], str]
    failed: list[str]


def collect_trials(
    grid: Any, key: str = "model", tag: str | None = None, columns: list[str] = METRIC_ROW_COLUMNS
) -> TrialResults:
    """Every finished trial's report; errored trials are listed, not raised.

    `key` names the report field that, with the fold, identifies a checkpoint; `tag` copies that
    report field into every row and curve (variant sweeps tag theirs with the variant name).
    """
    rows: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    checkpoints: dict[tuple[str, int], str] = {}
    failed: list[str] = []
    for result in grid:
        metrics = result.metrics or {}
        if result.error is not None or "rows" not in metrics:
            failed.append(str(result.error))
            continue
        extra = {tag: metrics[tag]} if tag else {}
        rows += [{**row, **extra} for row in metrics["rows"]]
        curves += [{**curve, **extra} for curve in metrics["curves"]]
        checkpoints[(metrics[key], int(metrics["fold"]))] = metrics["checkpoint"]
    table = pd.DataFrame(rows, columns=columns).astype({"fold": int, "value": float})
    return TrialResults(table, curves, checkpoints, failed)


def merge_trials(parts: list[TrialResults]) -> TrialResults:
    """The trials of several experiments (the cross-validation's arms) as one."""
    rows = [p.rows for p in parts if len(p.rows)]
    return TrialResults(
        pd.concat(rows, ignore_index=True) if rows else parts[0].rows,
        [c for p in parts for c in p.curves],
        {k: v for p in parts for k, v in p.checkpoints.items()},
        [f for p in parts for f in p.failed],
    )


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % t interval across folds per model, split and metric (a fold's scans averaged first)."""
    per_fold = results.groupby(["model", "split", "metric", "fold"], as_index=False)["value"].mean()
    return summarise_folds(per_fold, by=["model", "split", "metric"], metric_cols=["value"])
