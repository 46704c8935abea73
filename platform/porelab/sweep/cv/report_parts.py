"""The parts of the cross-validation report that come from elsewhere: the loss and
degradation sweeps of other run directories, and slice overlays of the selected model.

`jobs/cv.py --include runs/ftl-demo runs/degrade-demo` puts the alpha/beta heatmap, the
gamma curve and the degradation plots of those runs into the CV report, so one page holds
the papers' tables; a directory is recognised by the tables its job wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from porelab.assess import ScoringModel, dataset_scans, point_for
from porelab.errors import ConfigError
from porelab.report import SliceOverlay
from porelab.sweep.degrade.outputs import METRIC_NAMES, degradation_plot_table
from porelab.verdict import class_mask

_FTL_TABLES = ("ftl_grid.parquet", "gamma.parquet")
_DEGRADATION_TABLE = "degradation.parquet"


@dataclass
class SweepParts:
    """ReportData fields filled from other runs (None where no included run had them)."""

    ftl_grid: pd.DataFrame | None = None
    gamma_curve: pd.DataFrame | None = None
    ftl_metric: str = "validation AP"
    degradation: pd.DataFrame | None = None
    degradation_metric: str = "Dice"
    sources: list[str] = field(default_factory=list)

    def report_fields(self) -> dict[str, Any]:
        return {
            "ftl_grid": self.ftl_grid,
            "gamma_curve": self.gamma_curve,
            "ftl_metric": self.ftl_metric,
            "degradation": self.degradation,
            "degradation_metric": self.degradation_metric,
        }


def sweep_parts(run_dirs: list[str] | tuple[str, ...]) -> SweepParts:
    """Read the FTL search and degradation tables of `run_dirs` (each must hold one or the other)."""
    parts = SweepParts()
    for run_dir in map(Path, run_dirs):
        if all((run_dir / name).exists() for name in _FTL_TABLES):
            _add_ftl(parts, run_dir)
        elif (run_dir / _DEGRADATION_TABLE).exists():
            _add_degradation(parts, run_dir)
        else:
            raise ConfigError(
                f"{run_dir}: --include expects the run directory of jobs/ftl_search.py "
                f"({' and '.join(_FTL_TABLES)}) or jobs/degrade.py ({_DEGRADATION_TABLE}); "
                "found neither"
            )
        parts.sources.append(str(run_dir))
    return parts


def _run_config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "config.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _add_ftl(parts: SweepParts, run_dir: Path) -> None:
    grid = pd.read_parquet(run_dir / "ftl_grid.parquet")
    gamma = pd.read_parquet(run_dir / "gamma.parquet")
    parts.ftl_grid = grid if grid["value"].notna().any() else None
    parts.gamma_curve = gamma if gamma["mean"].notna().any() else None
    parts.ftl_metric = f"validation {str(_run_config(run_dir).get('metric', 'ap')).upper()}"


def _add_degradation(parts: SweepParts, run_dir: Path) -> None:
    metric = str(_run_config(run_dir).get("report_metric", "dice"))
    plotted = degradation_plot_table(pd.read_parquet(run_dir / _DEGRADATION_TABLE), metric)
    parts.degradation = plotted if len(plotted) else None
    parts.degradation_metric = METRIC_NAMES.get(metric, metric)


def slice_overlays(checkpoint: str | Path, root: Path, scans: dict[str, str], title: str) -> list[Any]:
    """One slice overlay per scan: the z slice with the most true pore voxels, the grey values,
    the true mask and the mask the user gets (`porelab predict`'s verdict at the checkpoint's
    operating point, inside the part found in the scan).

    `scans` maps scan id to its split ("validation", "challenging").
    """
    model = ScoringModel.load(checkpoint)
    overlays = []
    for scan in dataset_scans(root, ids=list(scans)):
        score = model.score_maps(scan.volume, scan.normaliser)[model.served_variant]
        mask, _ = class_mask(score, scan.part, point_for(model, score), scan.voxel_size, scan=scan.volume)
        z = int(np.argmax((scan.truth.labels > 0).sum(axis=(1, 2))))
        overlays.append(
            SliceOverlay(
                f"{title}, {scans[scan.id]} scan {scan.id}, slice z = {z}",
                scan.volume[z],
                scan.truth.labels[z] > 0,
                mask[z] > 0,
            )
        )
    return overlays
