"""What a cross-validation run leaves behind: results.parquet, summary.json, the registry entry
of the selected model, and report.html."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from porelab.config import to_dict
from porelab.sweep.results import TrialResults
from porelab.volume.atomic import write_text_atomic

BASELINE = "otsu"
HEADLINE_METRICS = ("ap", "auc", "dice_best", "dice_fixed", "pod_a90", "false_calls")  # results.parquet has all
_POD_GRID = np.geomspace(1.0, 20.0, 50)


def baseline_rows(root: Path, folds: list[Any], challenging: list[str], cache: Path) -> pd.DataFrame:
    """The Otsu filter baseline scored like the models (cached: it does not change between runs)."""
    from porelab.data import load_scans
    from porelab.simulate.datasets.manifest import read_manifest
    from porelab.sweep.evaluation import ScanTruth, otsu_metrics

    if cache.exists():
        return pd.read_parquet(cache)
    entries = {e["id"]: e for e in read_manifest(root)["scans"]}
    sizes = {s.id: s.voxel_size for s in load_scans(root)}
    scores = {i: otsu_metrics(root, entries[i], ScanTruth.load(root, entries[i]), sizes[i]).metrics
              for i in {*challenging, *(v for f in folds for v in f.val_ids)}}
    rows = [{"model": BASELINE, "fold": f.index, "split": split, "scan": i, "metric": k, "value": v}
            for f in folds for split, ids in (("validation", f.val_ids), ("challenging", challenging))
            for i in ids for k, v in scores[i].items()]
    table = pd.DataFrame(rows)
    table.to_parquet(cache, index=False)
    return table


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    from porelab.evaluate import summarise_folds

    per_fold = results.groupby(["model", "split", "metric", "fold"], as_index=False)["value"].mean()
    return summarise_folds(per_fold, by=["model", "split", "metric"], metric_cols=["value"])


def select_model(summary: pd.DataFrame, metric: str) -> tuple[str, float]:
    """The model (not the baseline) with the best mean validation `metric`."""
    candidates = summary[(summary.split == "validation") & (summary.metric == metric) & (summary.model != BASELINE)]
    best = candidates.sort_values("mean", ascending=False).iloc[0]
    return str(best.model), float(best["mean"])


def _model_card(name: str, base: str, fold: int, summary: pd.DataFrame, config: Any,
                ood: dict[str, Any] | None = None) -> str:
    mine = summary[summary.model == name]
    lines = [f"# {name}", "", f"Selected by `jobs/cv.py` on the best mean validation {config.select_metric} "
             f"over {config.folds} folds; the weights are those of fold {fold} (its best validation epoch).", "",
             f"- data: `{config.data}` (profile `{config.profile}`)", f"- architecture: `{base}`",
             "- input: a CT volume (z, y, x), any size and format `porelab info` reads; grey values are normalised "
             "per volume from its 0.5/99.5 % percentiles", "", "| split | metric | mean | 95 % CI | folds |",
             "|---|---|---|---|---|"]
    for row in mine.itertuples():
        lines.append(f"| {row.split} | {row.metric} | {row.mean:.3f} | [{row.ci_low:.3f}, {row.ci_high:.3f}] | "
                     f"{row.n} |")
    lines += ["", "## Limits", "", "- Trained on simulated scans only (Fuchs et al.'s approach); check it on a real "
              "scan with known pores before trusting it.", "- Scores on the challenging scan say how it behaves on "
              "noisy, artefact-laden data; pores below the POD a90 size are often missed."]
    if ood:
        crop = ood["settings"]["crop"]
        lines += ["", "## Out-of-distribution check", "",
                  f"`ood.pt`: an autoencoder detector (Lindgren & Zach) trained by `jobs/cv.py` on {ood['slices']} z "
                  f"slices (central crops of at most {crop} x {crop} pixels, grey values normalised per volume) of "
                  f"fold {fold}'s training scans {', '.join(f'`{s}`' for s in ood['scans'])}"
                  + (f" (the autoencoder never saw `{ood['calibration_only'][0]}`: its slices only set the thresholds)"
                     if ood.get("calibration_only") else "")
                  + ". The service scores up to 16 evenly spaced slices of each upload the same way; a score above 1 "
                  "means the upload is unlike those scans."]
        lines += [f"- `{scan}` left out of the detector's training: {why}" for scan, why in ood["left_out"].items()]
    return "\n".join(lines) + "\n"


def _previous_ood(path: Path) -> dict[str, Any] | None:
    """The "ood_detector" record of an earlier run's config.json (None when there is none)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8")).get("ood_detector")
    except (OSError, ValueError, AttributeError):
        return None
    return record if isinstance(record, dict) else None


def write_registry(config: Any, summary: pd.DataFrame, results: pd.DataFrame,
                   checkpoints: dict[tuple[str, int], str]) -> dict[str, Any]:
    """registry/<model>/: model.pt, config.json, metrics.json, model_card.md, and ood.pt: the OOD
    detector of the selected fold's training scans (kept from an earlier run when it was
    trained for the same model, fold and scans)."""
    from porelab.ood.registry_detector import registry_detector
    from porelab.sweep.trial import POSTPROCESSED
    from porelab.train.checkpoint import read_checkpoint

    name, score = select_model(summary, config.select_metric)
    base = name.replace(POSTPROCESSED, "")
    val = results[(results.model == name) & (results.split == "validation") & (results.metric == config.select_metric)]
    fold = int(val.sort_values("value", ascending=False).iloc[0].fold)
    target = Path(config.registry) / base
    target.mkdir(parents=True, exist_ok=True)
    previous = _previous_ood(target / "config.json")
    checkpoint = Path(checkpoints[(base, fold)])
    shutil.copy(checkpoint, target / ".model.pt.partial")
    os.replace(target / ".model.pt.partial", target / "model.pt")
    payload = read_checkpoint(target / "model.pt")
    mine = summary[summary.model == name]
    metrics = {f"{r.split}/{r.metric}": {"mean": r.mean, "ci_low": r.ci_low, "ci_high": r.ci_high, "n": int(r.n)}
               for r in mine.itertuples()}
    ood = registry_detector(target, config.data, payload["train_config"]["train_ids"], {"model": base, "fold": fold},
                            previous)
    write_text_atomic(target / "config.json", json.dumps({"model": base, "selected_as": name, "fold": fold,
                                                          "threshold": payload.get("threshold", 0.5),
                                                          "train_config": payload["train_config"],
                                                          "postprocess": name != base, "ood_detector": ood},
                                                         indent=2) + "\n")
    write_text_atomic(target / "metrics.json", json.dumps(metrics, indent=2, default=float) + "\n")
    write_text_atomic(target / "model_card.md", _model_card(name, base, fold, summary, config, ood))
    return {"model": name, "architecture": base, "fold": fold, config.select_metric: score, "path": str(target)}


def _curve_frame(curves: list[dict[str, Any]], kind: str, split: str, columns: tuple[str, str]
                 ) -> pd.DataFrame | None:
    frames = [pd.DataFrame({"model": c["model"], "fold": c["fold"], columns[0]: c[kind][columns[0]],
                            columns[1]: c[kind][columns[1]]}) for c in curves if c["split"] == split and kind in c]
    return pd.concat(frames, ignore_index=True) if frames else None


def _pod_frame(curves: list[dict[str, Any]]) -> pd.DataFrame | None:
    frames = []
    for model in sorted({c["model"] for c in curves if "pod" in c and c["split"] == "challenging"}):
        mine = [c["pod"] for c in curves if c["model"] == model and "pod" in c and c["split"] == "challenging"]
        mean = {k: np.mean([np.interp(_POD_GRID, c["diameter"], c[k]) for c in mine], axis=0)
                for k in ("pod", "ci_low", "ci_high")}
        frames.append(pd.DataFrame({"model": model, "diameter": _POD_GRID, **mean}))
    return pd.concat(frames, ignore_index=True) if frames else None


def selected_overlays(config: Any, selected: dict[str, Any], results: pd.DataFrame, folds: list[Any],
                      challenging: list[str]) -> list[Any]:
    """Slice overlays of the served model (its fold's weights) on that fold's validation scan and the
    challenging scan, at the threshold it is scored with: the fixed one for segmenters, the best
    Dice one per scan for anomaly models."""
    from porelab.sweep.evaluation import FIXED_THRESHOLD
    from porelab.sweep.report_parts import slice_overlays
    from porelab.sweep.trial import POSTPROCESSED

    name, fold = selected["model"], int(selected["fold"])
    scans = {**{i: "validation" for i in folds[fold].val_ids}, **{i: "challenging" for i in challenging}}
    best = results[(results.model == name) & (results.fold == fold) & (results.metric == "threshold_best")]
    anomaly = _is_anomaly(selected["architecture"])
    thresholds = {i: float(best[best.scan == i].value.iloc[0]) if anomaly else FIXED_THRESHOLD for i in scans}
    variant = "postprocessed" if POSTPROCESSED in name else "raw"
    return slice_overlays(Path(config.registry) / selected["architecture"] / "model.pt", variant, thresholds,
                          Path(config.data), scans, f"{name} (fold {fold})")


def _is_anomaly(architecture: str) -> bool:
    from porelab.models import model_spec

    return model_spec(architecture).family == "anomaly"


def _trained(table: pd.DataFrame) -> int:
    """(model, fold) pairs that were trials: not the baseline, not a post-processed variant."""
    from porelab.sweep.trial import POSTPROCESSED

    trials = table[(table.model != BASELINE) & ~table.model.str.endswith(POSTPROCESSED)]
    return int(trials[["model", "fold"]].drop_duplicates().shape[0])


def write_report_html(config: Any, results: pd.DataFrame, curves: list[dict[str, Any]], seconds: float,
                      failed: int, findings: list[str], overlays: list[Any] | None = None) -> Path:
    from porelab.report import ReportData, Resources, write_report
    from porelab.sweep.report_parts import sweep_parts

    table = results[results.metric.isin(HEADLINE_METRICS)]
    table = table.groupby(["model", "fold", "split", "metric"], as_index=False)["value"].mean()
    data = ReportData(
        run_name=Path(config.out).name, config=to_dict(config), results=table, findings=findings,
        pr_curves=_curve_frame(curves, "pr", "validation", ("recall", "precision")),
        roc_curves=_curve_frame(curves, "roc", "validation", ("fpr", "tpr")),
        pod_curves=_pod_frame(curves), overlays=overlays or None,
        **sweep_parts(getattr(config, "include", ())).report_fields(),
        resources=Resources(wall_time_s=seconds, cpus=float(os.cpu_count() or 1), gpus=0.0,
                            trials=_trained(table), failed_trials=failed),
    )
    return write_report(data, Path(config.out) / "report.html")


def _mean(summary: pd.DataFrame, model: str, split: str, metric: str) -> float:
    row = summary[(summary.model == model) & (summary.split == split) & (summary.metric == metric)]
    return float(row["mean"].iloc[0]) if len(row) else float("nan")


def findings(summary: pd.DataFrame, selected: dict[str, Any]) -> list[str]:
    """The sentences the issue asks for: best validation AP, the gain over Otsu, post-processing."""
    from porelab.models import model_spec
    from porelab.sweep.trial import POSTPROCESSED

    models = [m for m in summary.model.unique() if m != BASELINE]
    supervised = [m for m in models if POSTPROCESSED not in m and model_spec(m).family == "supervised"]
    metric = next(k for k in selected if k not in ("model", "architecture", "fold", "path"))
    lines = [f"Selected for serving: {selected['model']} (mean validation {metric} {selected[metric]:.3f})."]
    if supervised:
        best = max(supervised, key=lambda m: _mean(summary, m, "validation", "ap"))
        otsu = _mean(summary, BASELINE, "challenging", "dice_fixed")
        fixed, tuned = (_mean(summary, best, "challenging", m) for m in ("dice_fixed", "dice_best"))
        lines.append(f"Best supervised model {best}: validation AP {_mean(summary, best, 'validation', 'ap'):.3f}; "
                     f"on the challenging scan its Dice is {fixed:.3f} at the fixed threshold "
                     f"({fixed - otsu:+.3f} against the Otsu baseline's {otsu:.3f}) and {tuned:.3f} at the "
                     f"threshold best for that scan ({tuned - otsu:+.3f}).")
    for model in ("vae", "cevae", "gmvae", "vqvae"):
        if model in models and model + POSTPROCESSED in models:
            for split in ("validation", "challenging"):
                lines.append(f"{model} {split} AP {_mean(summary, model, split, 'ap'):.3f} raw, "
                             f"{_mean(summary, model + POSTPROCESSED, split, 'ap'):.3f} post-processed.")
    return lines


def write_outputs(config: Any, collected: TrialResults, root: Path, folds: list[Any], challenging: list[str],
                  seconds: float) -> dict[str, Any]:
    """Everything a run directory holds besides the Tune experiment; returns summary.json's content."""
    out = Path(config.out)
    baseline = baseline_rows(root, folds, challenging, out / "baseline.parquet")
    results = pd.concat([collected.rows, baseline], ignore_index=True)
    results.to_parquet(out / "results.parquet", index=False)
    summary = summarise(results)
    selected = write_registry(config, summary, results, collected.checkpoints) if len(collected.rows) else {}
    lines = findings(summary, selected) if selected else ["No trial finished."]
    overlays = selected_overlays(config, selected, results, folds, challenging) if selected else None
    report = write_report_html(config, results, collected.curves, seconds, len(collected.failed), lines, overlays)
    content = {"selected": selected, "findings": lines, "failed_trials": collected.failed,
               "seconds": round(seconds, 1), "report": str(report),
               "summary": json.loads(summary.to_json(orient="records"))}
    write_text_atomic(out / "summary.json", json.dumps(content, indent=2) + "\n")
    return content
