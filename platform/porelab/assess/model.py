"""A trained model scored on scans with known pores: the one scoring path of `porelab evaluate`,
the cross-validation and the degradation job.

`evaluate_model` scores every scan with the model's stored operating point; given
calibration scans it first chooses the operating point on them (`porelab.verdict.calibrate`)
for each score variant, and can write the served variant's point into the checkpoint.
Rows come out long: one per scan, variant and metric; the Otsu baseline is scored beside,
inside the same part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from porelab.assess.metrics import Evaluation, baseline_metrics, scan_metrics
from porelab.assess.scans import EvaluationScan, dataset_scans
from porelab.assess.scores import POSTPROCESSED, RAW, ScoringModel
from porelab.checkpoint import store_operating_point
from porelab.infer.verdict_step import operating_point_for
from porelab.simulate.datasets.manifest import calibration_scans
from porelab.verdict import CalibrationConfig, CalibrationScan, OperatingPoint, calibrate

BASELINE = "otsu"
ROW_COLUMNS = ["model", "variant", "scan", "role", "metric", "value"]
#: What `porelab evaluate` prints per scan, in this order (results keep every metric).
TABLE_COLUMNS = (
    "ap",
    "auc",
    "dice",
    "dice_best",
    "false_calls",
    "false_calls_per_128c",
    "porosity_reported",
    "porosity_true",
    "porosity_error_pp",
    "pore_voxels_outside_part",
    "pores_found_percent",
    "pod_a50",
    "pod_a90",
)
Report = Callable[[str], None]


@dataclass
class ModelEvaluation:
    """Per scan and variant: metrics and curves; the operating points used, and the calibration
    tables they were chosen from (empty when the stored point was used)."""

    model: str
    served_variant: str
    evaluations: dict[tuple[str, str], Evaluation] = field(default_factory=dict)
    points: dict[str, OperatingPoint] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def rows(self, scans: Sequence[EvaluationScan]) -> pd.DataFrame:
        roles = {s.id: s.role for s in scans}
        rows = [
            {
                "model": self.model if variant != BASELINE else BASELINE,
                "variant": variant,
                "scan": scan_id,
                "role": roles.get(scan_id, ""),
                "metric": k,
                "value": float(v),
            }
            for (scan_id, variant), evaluation in self.evaluations.items()
            for k, v in evaluation.metrics.items()
        ]
        return pd.DataFrame(rows, columns=ROW_COLUMNS)

    def table(self, scans: Sequence[EvaluationScan], variant: str | None = None) -> pd.DataFrame:
        """One row per scan: the verdict's figures at the operating point, the diagnostics, and
        the Otsu baseline's Dice beside (`TABLE_COLUMNS`)."""
        rows = self.rows(scans)
        rows = rows[rows.scan.isin({s.id for s in scans})]
        wide = rows.pivot_table(index="scan", columns=["variant", "metric"], values="value", sort=False)
        chosen = wide[variant or self.served_variant]
        out = chosen.reindex(columns=[c for c in TABLE_COLUMNS if c in chosen.columns])
        if BASELINE in wide.columns.get_level_values(0):
            out["otsu_dice"] = wide[BASELINE]["dice"]
        roles = {s.id: s.role for s in scans}
        return out.rename_axis(None, axis=1).assign(role=[roles.get(i, "") for i in out.index])


def point_for(model: ScoringModel, score: np.ndarray) -> OperatingPoint:
    """The operating point `porelab predict` would judge this score at (the stored one, or the
    per-volume fallback of an uncalibrated anomaly model)."""
    return operating_point_for(model.payload, score, model.anomaly)


def calibration_set(
    scores: dict[str, dict[str, np.ndarray]], scans: Sequence[EvaluationScan], variant: str
) -> list[CalibrationScan]:
    return [
        CalibrationScan(
            s.id,
            scores[s.id][variant],
            s.part.part,
            s.part.inspected,
            s.truth.labels,
            s.truth.sizes,
            s.voxel_size,
            s.volume,
        )
        for s in scans
    ]


def evaluate_model(
    checkpoint: str | Path,
    scans: Sequence[EvaluationScan],
    *,
    calibration_ids: Sequence[str] = (),
    calibration: CalibrationConfig = CalibrationConfig(),
    store: bool = False,
    variants: Sequence[str] | None = None,
    baseline: bool = True,
    name: str | None = None,
    report: Report = lambda message: None,
) -> ModelEvaluation:
    """Score `scans` with the checkpoint (see the module docstring).

    Args:
        calibration_ids: scans (of `scans`) to choose the operating points on; empty: use
            the checkpoint's stored point for the served variant.
        store: write the served variant's calibrated point into the checkpoint.
        variants: score variants to report (default: the served one; with calibration both
            raw and post-processed for anomaly models).
        name: the model name the rows carry (default the architecture).
    """
    model = ScoringModel.load(checkpoint)
    chosen = (
        list(variants)
        if variants
        else ([RAW, POSTPROCESSED] if model.anomaly and calibration_ids else [model.served_variant])
    )
    result = ModelEvaluation(name or model.name, model.served_variant)
    if calibration_ids:
        by_id = {s.id: s for s in scans}
        cal_scans = [by_id[i] for i in calibration_ids]
        scores = {s.id: model.score_maps(s.volume, s.normaliser) for s in cal_scans}
        for variant in chosen:
            report(f"{result.model}: calibrating the {variant} score on {len(cal_scans)} scans")
            point, table = calibrate(calibration_set(scores, cal_scans, variant), calibration)
            result.points[variant], result.tables[variant] = point, table
        if store:
            table = result.tables[model.served_variant]
            store_operating_point(
                model.checkpoint,
                result.points[model.served_variant].to_dict(),
                {
                    "scans": list(calibration_ids),
                    "variant": model.served_variant,
                    "objective": calibration.objective,
                    "candidates": {c: table[c].astype(float).tolist() for c in table.columns},
                },
            )
    else:
        scores = {}
    for scan in scans:
        maps = scores.pop(scan.id, None) or model.score_maps(scan.volume, scan.normaliser)
        for variant in chosen:
            point = result.points.get(variant) or point_for(model, maps[variant])
            result.evaluations[(scan.id, variant)] = scan_metrics(
                maps[variant], scan.truth, scan.part, point, scan.voxel_size, scan=scan.volume
            )
        if baseline:
            result.evaluations[(scan.id, BASELINE)] = baseline_metrics(
                scan.volume, scan.truth, scan.part, scan.voxel_size
            )
        report(f"{result.model}: scored {scan.id}")
    for variant in chosen:
        result.points.setdefault(variant, model.operating_point)
    return result


def table_text(table: pd.DataFrame) -> str:
    """`ModelEvaluation.table` as `porelab evaluate` prints it (NaN POD sizes read "no fit",
    infinite ones "not reached")."""
    with pd.option_context("display.width", 200, "display.max_columns", None):
        return table.to_string(float_format=lambda v: "not reached" if v == math.inf else f"{v:.3g}", na_rep="no fit")


def calibrate_run(result: Any, data: str | Path, report: Report = lambda message: None) -> OperatingPoint:
    """The operating point of a training run's best checkpoint (`porelab.train.run.TrainResult`),
    calibrated once on the held-out scans of its dataset (`calibration_scans`: its validation
    scans, their degraded copies and the selection scans) and stored in the checkpoint."""
    ids = calibration_scans(Path(data), result.summary.get("val_scans", []))
    model = ScoringModel.load(result.best_checkpoint)
    if not ids or model.info.calibrated:
        return model.operating_point
    report(f"calibrating the operating point on {len(ids)} held-out scans: {', '.join(ids)}")
    return calibrated(result.best_checkpoint, data, ids=ids)


def calibrated(
    checkpoint: str | Path,
    data: str | Path,
    role: str = "validation",
    report: Report = lambda message: None,
    ids: Sequence[str] = (),
) -> OperatingPoint:
    """The checkpoint's operating point; when it has none yet, calibrated on the scans `ids` (or,
    without them, the scans of `role`) in the dataset `data` and stored in the checkpoint first."""
    model = ScoringModel.load(checkpoint)
    if model.info.calibrated:
        return model.operating_point
    scans = dataset_scans(data, ids=list(ids)) if ids else dataset_scans(data, roles=[role])
    result = evaluate_model(
        checkpoint, scans, calibration_ids=[s.id for s in scans], store=True, baseline=False, report=report
    )
    return result.points[result.served_variant]
