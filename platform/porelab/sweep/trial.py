"""One cross-validation trial: train (resumably) a model on a fold, then score it on its scans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from porelab.volume.atomic import write_text_atomic

POSTPROCESSED = " (post-processed)"


def _rows(model: str, fold: int, split: str, scan_id: str, evaluation: Any) -> list[dict[str, Any]]:
    return [{"model": model, "fold": fold, "split": split, "scan": scan_id, "metric": k, "value": v}
            for k, v in evaluation.metrics.items()]


def _curves(model: str, fold: int, split: str, evaluation: Any) -> list[dict[str, Any]]:
    return [{"model": model, "fold": fold, "split": split, **evaluation.curves}]


def evaluate_trial(run_dir: Path, checkpoint: Path, root: Path, model: str, fold: int,
                   splits: dict[str, list[str]]) -> dict[str, Any]:
    """Rows and curves for every scan of every split; cached in `evaluation.json`."""
    from porelab.data import load_scans
    from porelab.simulate.datasets.manifest import read_manifest
    from porelab.sweep.evaluation import ScanTruth, evaluate_checkpoint

    cached = run_dir / "evaluation.json"
    if cached.exists():
        return json.loads(cached.read_text())
    entries = {e["id"]: e for e in read_manifest(root)["scans"]}
    records = {s.id: s for s in load_scans(root)}
    rows: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    for split, ids in splits.items():
        for scan_id in ids:
            truth = ScanTruth.load(root, entries[scan_id])
            for variant, evaluation in evaluate_checkpoint(checkpoint, records[scan_id], truth).items():
                name = model + (POSTPROCESSED if variant == "postprocessed" else "")
                rows += _rows(name, fold, split, scan_id, evaluation)
                curves += _curves(name, fold, split, evaluation)
    result = {"rows": rows, "curves": curves, "checkpoint": str(checkpoint)}
    write_text_atomic(cached, json.dumps(result) + "\n")
    return result


def run_trial(params: dict[str, Any]) -> dict[str, Any]:
    """Train `params['trial']` with `fit` (skipped when already finished), evaluate, return the report."""
    from porelab.train.config import TrainConfig
    from porelab.train.run import fit

    trial = params["trial"]
    model, fold = trial["model"], int(trial["fold"])
    run_dir = Path(params["trials_dir"]) / f"{model}-fold{fold}"
    result = fit(TrainConfig.from_dict(trial["train"]), params["data"], run_dir)
    evaluation = evaluate_trial(run_dir, result.best_checkpoint, Path(params["data"]), model, fold,
                                {"validation": trial["val_ids"], "challenging": trial["challenging_ids"]})
    val_ap = [r["value"] for r in evaluation["rows"] if r["split"] == "validation" and r["metric"] == "ap"
              and r["model"] == model]
    return {"model": model, "fold": fold, "val_ap": val_ap[0] if val_ap else float("nan"),
            "epochs": result.summary.get("epochs"), "rows": evaluation["rows"], "curves": evaluation["curves"],
            "checkpoint": evaluation["checkpoint"]}
