"""What a run report shows: plain numbers, tables and arrays, checked once on construction.

The report layer knows nothing about Tune, checkpoints or how a metric was computed: a job
gathers its numbers into a `ReportData` and hands it to `write_report`. Every part except the
results table is optional; a missing part becomes a one-line note in the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from porelab.errors import ConfigError

SPLITS = ("validation", "degraded", "selection", "challenging")
#: The splits the headline table shows (the degraded copies and the selection scans stay in the
#: results, the selection and the findings).
HEADLINE_SPLITS = ("validation", "challenging")

RESULT_COLUMNS = ("model", "fold", "split", "metric", "value")
PR_COLUMNS = ("model", "fold", "recall", "precision")
ROC_COLUMNS = ("model", "fold", "fpr", "tpr")
POD_COLUMNS = ("model", "diameter", "pod", "ci_low", "ci_high")
FTL_GRID_COLUMNS = ("alpha", "beta", "value")
GAMMA_COLUMNS = ("gamma", "mean", "ci_low", "ci_high")
DEGRADATION_COLUMNS = ("projections", "exposure", "model", "value")


class SliceOverlay(NamedTuple):
    """One slice of a scan with its true and predicted pore masks (all 2-D, same shape)."""

    title: str
    image: np.ndarray
    truth: np.ndarray
    predicted: np.ndarray


@dataclass(frozen=True)
class Resources:
    """What the run cost: wall time, the machine it used and how many trials it ran."""

    wall_time_s: float
    cpus: float
    gpus: float
    trials: int
    failed_trials: int = 0
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class ReportData:
    """Everything `write_report` puts on the page.

    `results` has one row per model x fold x split x metric (columns model, fold, split,
    metric, value; split is "validation" or "challenging"). Curve tables are long format, one
    row per point: `pr_curves` (model, fold, recall, precision), `roc_curves` (model, fold,
    fpr, tpr), `pod_curves` (model, diameter in voxels, pod, ci_low, ci_high; the row group
    named `baseline` is drawn as the filter baseline), `ftl_grid` (alpha, beta, value),
    `gamma_curve` (gamma, mean, ci_low, ci_high), `degradation` (projections %, exposure %,
    model, value). `findings` are short sentences shown above the headline tables. `families`
    maps a model to its family ("supervised", "anomaly"): the PR, ROC and POD figures then draw
    one panel per family, the baseline in each.
    """

    run_name: str
    config: dict[str, Any]
    results: pd.DataFrame
    findings: list[str] = field(default_factory=list)
    pr_curves: pd.DataFrame | None = None
    roc_curves: pd.DataFrame | None = None
    pod_curves: pd.DataFrame | None = None
    ftl_grid: pd.DataFrame | None = None
    gamma_curve: pd.DataFrame | None = None
    degradation: pd.DataFrame | None = None
    overlays: list[SliceOverlay] | None = None
    resources: Resources | None = None
    baseline: str = "Otsu"
    families: dict[str, str] | None = None
    ftl_metric: str = "validation AP"
    degradation_metric: str = "Dice"
    created: datetime | None = None

    def __post_init__(self) -> None:
        if not str(self.run_name).strip():
            raise ConfigError("ReportData run_name: expected a non-empty name")
        if not isinstance(self.config, dict):
            raise ConfigError(f"ReportData config: expected a dict, got {type(self.config).__name__}")
        _check_results(self.results)
        for name, columns in _OPTIONAL_TABLES.items():
            table = getattr(self, name)
            if table is not None:
                _check_table(table, name, columns)
        if self.overlays is not None:
            for index, overlay in enumerate(self.overlays):
                _check_overlay(overlay, index)


_OPTIONAL_TABLES = {
    "pr_curves": PR_COLUMNS,
    "roc_curves": ROC_COLUMNS,
    "pod_curves": POD_COLUMNS,
    "ftl_grid": FTL_GRID_COLUMNS,
    "gamma_curve": GAMMA_COLUMNS,
    "degradation": DEGRADATION_COLUMNS,
}


def _check_table(table: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ConfigError(f"ReportData {name}: expected a pandas DataFrame, got {type(table).__name__}")
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ConfigError(f"ReportData {name}: missing columns {missing}; expected {list(columns)}")
    if table.empty:
        raise ConfigError(f"ReportData {name}: no rows; pass None to leave the part out")


def _check_results(results: pd.DataFrame) -> None:
    _check_table(results, "results", RESULT_COLUMNS)
    unknown = sorted(set(results["split"].astype(str)) - set(SPLITS))
    if unknown:
        raise ConfigError(f"ReportData results: unknown split {unknown}; expected one of {list(SPLITS)}")
    if not pd.api.types.is_numeric_dtype(results["value"]):
        raise ConfigError(f"ReportData results: column value must be numeric, got {results['value'].dtype}")


def _check_overlay(overlay: SliceOverlay, index: int) -> None:
    if not isinstance(overlay, tuple) or len(overlay) != 4:
        raise ConfigError(f"ReportData overlays[{index}]: expected (title, image, truth, predicted)")
    title, image, truth, predicted = overlay
    shape = np.shape(image)
    if len(shape) != 2:
        raise ConfigError(f"ReportData overlays[{index}] ({title}): image must be 2-D, got shape {shape}")
    for name, mask in (("truth", truth), ("predicted", predicted)):
        if np.shape(mask) != shape:
            raise ConfigError(
                f"ReportData overlays[{index}] ({title}): {name} mask shape "
                f"{np.shape(mask)} differs from image shape {shape}"
            )
