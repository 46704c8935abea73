"""One cross-validation trial: train (resumably) a model on a fold, calibrate its operating point on
the fold's validation scans, their degraded copies and the dataset's selection scans, then score
it on its scans."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from porelab.assess import POSTPROCESSED as POSTPROCESSED_VARIANT
from porelab.assess import dataset_scans, evaluate_model
from porelab.metrics import record_trial
from porelab.sweep.plan import TrialPlan
from porelab.train.config import TrainConfig
from porelab.train.run import fit
from porelab.volume.atomic import write_text_atomic

POSTPROCESSED = " (post-processed)"
#: The splits a trial's operating point is calibrated on (never the challenging scan).
CALIBRATION_SPLITS = ("validation", "degraded", "selection")
#: evaluation.json of earlier versions (no operating point, no boundary refinement, no selection
#: scans, no guard about the rotation axis) is scored again
EVALUATION_VERSION = 5


def _rows(model: str, fold: int, split: str, scan_id: str, evaluation: Any) -> list[dict[str, Any]]:
    return [
        {"model": model, "fold": fold, "split": split, "scan": scan_id, "metric": k, "value": v}
        for k, v in evaluation.metrics.items()
    ]


def _curves(model: str, fold: int, split: str, evaluation: Any) -> list[dict[str, Any]]:
    return [{"model": model, "fold": fold, "split": split, **evaluation.curves}]


def evaluate_trial(
    run_dir: Path, checkpoint: Path, root: Path, model: str, fold: int, splits: dict[str, list[str]]
) -> dict[str, Any]:
    """Calibrate the trained model's operating point on its validation scans, their degraded
    re-simulations and the selection scans (stored in the checkpoint), then score every scan of every split at it
    (`porelab.assess.evaluate_model`); rows and curves, cached in `evaluation.json`."""
    cached = run_dir / "evaluation.json"
    if cached.exists():
        result = json.loads(cached.read_text())
        if result.get("version") == EVALUATION_VERSION:
            return result
    start = time.perf_counter()
    split_of = {scan_id: split for split, ids in splits.items() for scan_id in ids}
    scans = dataset_scans(root, ids=list(split_of))
    calibration = [i for i in split_of if split_of[i] in CALIBRATION_SPLITS]
    evaluation = evaluate_model(checkpoint, scans, calibration_ids=calibration, store=True, baseline=False, name=model)
    rows: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    for (scan_id, variant), scored in evaluation.evaluations.items():
        name = model + (POSTPROCESSED if variant == POSTPROCESSED_VARIANT else "")
        rows += _rows(name, fold, split_of[scan_id], scan_id, scored)
        curves += _curves(name, fold, split_of[scan_id], scored)
    point = evaluation.points[evaluation.served_variant]
    result = {
        "version": EVALUATION_VERSION,
        "rows": rows,
        "curves": curves,
        "checkpoint": str(checkpoint),
        "operating_point": point.to_dict(),
        "seconds": round(time.perf_counter() - start, 2),
    }
    write_text_atomic(cached, json.dumps(result) + "\n")
    return result


def run_trial(plan: TrialPlan, trials_dir: str | Path) -> dict[str, Any]:
    """Train `plan` with `fit` in `trials_dir/<model>-fold<k>` (skipped when already finished),
    calibrate and score it (`evaluate_trial`), and return the trial's report."""
    model, fold = plan.model, plan.fold
    run_dir = Path(trials_dir) / f"{model}-fold{fold}"
    try:
        result = fit(TrainConfig.from_dict(plan.train), plan.data, run_dir)
        evaluation = evaluate_trial(run_dir, result.best_checkpoint, Path(plan.data), model, fold, plan.splits())
    except Exception:
        record_trial("cv", model, "failed")
        raise
    record_trial("cv", model, "finished")

    def validation(metric: str) -> float:
        values = [
            r["value"]
            for r in evaluation["rows"]
            if r["split"] == "validation" and r["metric"] == metric and r["model"] == model
        ]
        return sum(values) / len(values) if values else float("nan")

    return {
        "model": model,
        "fold": fold,
        "val_ap": validation("ap"),
        "val_dice": validation("dice"),
        "epochs": result.summary.get("epochs"),
        "rows": evaluation["rows"],
        "curves": evaluation["curves"],
        "checkpoint": evaluation["checkpoint"],
        "epoch_seconds": _epoch_seconds(run_dir),
        "evaluation_seconds": evaluation.get("seconds", float("nan")),
    }


def _epoch_seconds(run_dir: Path) -> float:
    """The training compute of a run: its epochs' seconds (start-up and export not counted)."""
    import pandas as pd

    history = run_dir / "history.parquet"
    return float(pd.read_parquet(history)["epoch_seconds"].sum()) if history.exists() else float("nan")
