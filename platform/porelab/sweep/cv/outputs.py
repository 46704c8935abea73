"""What a cross-validation run leaves behind: results.parquet, summary.json, the registry entry
of the selected model, and report.html."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from porelab.assess import HEADLINE_METRICS, baseline_metrics, dataset_scans
from porelab.bundled import bundled_config
from porelab.checkpoint import CheckpointInfo, read_checkpoint
from porelab.config import to_dict
from porelab.errors import ConfigError
from porelab.models import model_spec
from porelab.ood.registry_detector import registry_detector
from porelab.registry import read_model_config, write_model_folder
from porelab.report import ReportData, write_report
from porelab.simulate.datasets.manifest import degraded_copies, selection_scans
from porelab.sweep.cv.randomized_arm import SUFFIX, arm_findings, arm_root, is_arm
from porelab.sweep.cv.report_parts import slice_overlays, sweep_parts
from porelab.sweep.cv.selection import BASELINE, Selection, select_model
from porelab.sweep.results import TrialResults, summarise
from porelab.sweep.run_dir import run_resources, write_summary
from porelab.sweep.trial import POSTPROCESSED
from porelab.sweep.tuned import copy_bundled_ood, tuned_base

_POD_GRID = np.geomspace(1.0, 20.0, 50)
#: What a model `make cv` selects takes (its config.json's "input", shown by the service).
INPUT = (
    "a CT volume (z, y, x), any size and format `porelab info` reads; grey values are normalised per volume "
    "from its 0.5/99.5 % percentiles"
)


def baseline_rows(root: Path, folds: list[Any], challenging: list[str], cache: Path) -> pd.DataFrame:
    """The Otsu filter baseline scored like the models, inside the part found in each scan, on
    every fold's validation scans, their degraded copies, the selection scans and the challenging
    scans (cached: it does not change between runs while the dataset keeps its scans)."""
    selection = selection_scans(root)
    splits = [
        (f.index, split, ids)
        for f in folds
        for split, ids in (
            ("validation", list(f.val_ids)),
            ("degraded", degraded_copies(root, f.val_ids)),
            ("selection", selection),
            ("challenging", challenging),
        )
    ]
    wanted = sorted({i for _, _, ids in splits for i in ids})
    if cache.exists():
        cached = pd.read_parquet(cache)
        if set(cached.scan) == set(wanted):
            return cached
    scores = {
        s.id: baseline_metrics(s.volume, s.truth, s.part, s.voxel_size).metrics for s in dataset_scans(root, ids=wanted)
    }
    rows = [
        {"model": BASELINE, "fold": fold, "split": split, "scan": i, "metric": k, "value": v}
        for fold, split, ids in splits
        for i in ids
        for k, v in scores[i].items()
    ]
    table = pd.DataFrame(rows)
    table.to_parquet(cache, index=False)
    return table


def _model_card(
    name: str,
    base: str,
    selection: Selection,
    summary: pd.DataFrame,
    config: Any,
    point: dict[str, Any],
    ood: dict[str, Any] | None = None,
) -> str:
    mine = summary[(summary.model == name) & summary.metric.isin(HEADLINE_METRICS)]
    lines = [
        f"# {name}",
        "",
        f"Selected by `jobs/cv.py`: {selection.reason()}",
        "",
        f"Operating point: a region is a pore when its highest score reaches {point['threshold']:.3g}, grown "
        f"over voxels scoring at least {point['low_threshold']:.3g}; regions under "
        f"{point['min_diameter_vox']:.3g} voxels equivalent diameter are indications below the detection "
        f"limit, and regions wholly within {point.get('axis_guard_vox', 0):.3g} voxels of the rotation axis "
        f"indications on it (ring artefacts converge there). Chosen for {point['objective']}: {point['source']}.",
        "",
        f"- data: `{config.data}` (profile `{config.profile}`)"
        + (
            f"; trained on the 'train' scans of the randomized set `{config.randomized}` with the simulator's "
            "artefact augmentation, calibrated on the folds' validation scans"
            if is_arm(name)
            else ""
        )
        + (
            f"; the bundled detector `{tuned_base(base)}` fine-tuned on fold {selection.fold}'s training scans "
            f"from its weights (`porelab models --bundled`; its model card says what it learned from)"
            if tuned_base(base)
            else ""
        ),
        f"- architecture: `{_architecture(base)}`",
        f"- input: {INPUT}",
        "",
        "| split | metric | mean | 95 % CI | folds |",
        "|---|---|---|---|---|",
    ]
    for row in mine.itertuples():
        lines.append(
            f"| {row.split} | {row.metric} | {row.mean:.3f} | [{row.ci_low:.3f}, {row.ci_high:.3f}] | {row.n} |"
        )
    lines += [
        "",
        "## Limits",
        "",
        "- Trained on simulated scans only (Fuchs et al.'s approach); check it on a real "
        "scan with known pores before trusting it.",
        "- Scores on the challenging scan say how it behaves on "
        "noisy, artefact-laden data; pores below the POD a90 size are often missed.",
    ]
    if ood and ood.get("copied_from"):
        lines += [
            "",
            "## Out-of-distribution check",
            "",
            f"`ood.pt`: the scan check of the {ood['copied_from']} detector, an autoencoder (Lindgren & Zach) "
            f"trained on {ood['slices']} z slices of the {len(ood['scans'])} scans it learned from; a score "
            "above 1 means an upload is unlike them.",
        ]
    elif ood:
        crop = ood["settings"]["crop"]
        lines += [
            "",
            "## Out-of-distribution check",
            "",
            f"`ood.pt`: an autoencoder detector (Lindgren & Zach) trained by `jobs/cv.py` on {ood['slices']} z "
            f"slices (central crops of at most {crop} x {crop} pixels, grey values normalised per volume) of "
            f"fold {selection.fold}'s training scans {', '.join(f'`{s}`' for s in ood['scans'])}"
            + (
                f" (the autoencoder never saw `{ood['calibration_only'][0]}`: its slices only set the thresholds)"
                if ood.get("calibration_only")
                else ""
            )
            + ". The service scores up to 16 evenly spaced slices of each upload the same way; a score above 1 "
            "means the upload is unlike those scans.",
        ]
        lines += [f"- `{scan}` left out of the detector's training: {why}" for scan, why in ood["left_out"].items()]
    return "\n".join(lines) + "\n"


def _architecture(name: str) -> str:
    """The architecture a candidate trains ('unet@randomized' -> 'unet'; a tuned bundle: its own)."""
    stem = tuned_base(name)
    return bundled_config(stem)["model"] if stem else name.split("@")[0]


def write_registry(
    config: Any, summary: pd.DataFrame, results: pd.DataFrame, checkpoints: dict[tuple[str, int], str]
) -> dict[str, Any]:
    """registry/<model>/: model.pt, config.json, metrics.json, model_card.md, and ood.pt: the OOD
    detector of the selected fold's training scans (kept from an earlier run when it was
    trained for the same model, fold and scans)."""
    selection = select_model(results, config.select_metric)
    name, fold = selection.model, selection.fold
    base = name.replace(POSTPROCESSED, "")
    target = Path(config.registry) / base
    previous = read_model_config(target).get("ood_detector")
    target.mkdir(parents=True, exist_ok=True)
    checkpoint = checkpoints[(base, fold)]
    payload = read_checkpoint(checkpoint)
    point = CheckpointInfo.from_payload(payload).operating_point.to_dict()
    mine = summary[summary.model == name]
    metrics = {
        f"{r.split}/{r.metric}": {"mean": r.mean, "ci_low": r.ci_low, "ci_high": r.ci_high, "n": int(r.n)}
        for r in mine.itertuples()
    }
    if tuned_base(base):
        ood = copy_bundled_ood(base, target)
    else:
        trained_on = arm_root(config) if is_arm(base) else config.data
        ood = registry_detector(
            target, trained_on, payload["train_config"]["train_ids"], {"model": base, "fold": fold}, previous
        )
    entry = {
        "model": base,
        "selected_as": name,
        "fold": fold,
        "input": INPUT,
        "threshold": payload.get("threshold", 0.5),
        "operating_point": point,
        "selection": selection.reason(),
        "train_config": payload["train_config"],
        "postprocess": name != base,
        "ood_detector": ood,
    }
    card = _model_card(name, base, selection, summary, config, point, ood)
    write_model_folder(target, entry, checkpoint=checkpoint, metrics=metrics, card=card)
    return {
        "model": name,
        "architecture": base,
        "fold": fold,
        config.select_metric: selection.score,
        "path": str(target),
        "why": selection.reason(),
        "runner_up": selection.runner_up,
        "runner_up_" + config.select_metric: selection.runner_up_score,
        "operating_point": point,
    }


def _curve_frame(curves: list[dict[str, Any]], kind: str, split: str, columns: tuple[str, str]) -> pd.DataFrame | None:
    frames = [
        pd.DataFrame(
            {"model": c["model"], "fold": c["fold"], columns[0]: c[kind][columns[0]], columns[1]: c[kind][columns[1]]}
        )
        for c in curves
        if c["split"] == split and kind in c
    ]
    return pd.concat(frames, ignore_index=True) if frames else None


def _pod_frame(curves: list[dict[str, Any]]) -> pd.DataFrame | None:
    frames = []
    for model in sorted({c["model"] for c in curves if "pod" in c and c["split"] == "challenging"}):
        mine = [c["pod"] for c in curves if c["model"] == model and "pod" in c and c["split"] == "challenging"]
        mean = {
            k: np.mean([np.interp(_POD_GRID, c["diameter"], c[k]) for c in mine], axis=0)
            for k in ("pod", "ci_low", "ci_high")
        }
        frames.append(pd.DataFrame({"model": model, "diameter": _POD_GRID, **mean}))
    return pd.concat(frames, ignore_index=True) if frames else None


def selected_overlays(config: Any, selected: dict[str, Any], folds: list[Any], challenging: list[str]) -> list[Any]:
    """Slice overlays of the served model (its fold's weights) on that fold's validation scan and the
    challenging scan, as `porelab predict` would judge them."""
    name, fold = selected["model"], int(selected["fold"])
    scans = {**{i: "validation" for i in folds[fold].val_ids}, **{i: "challenging" for i in challenging}}
    return slice_overlays(
        Path(config.registry) / selected["architecture"] / "model.pt", Path(config.data), scans, f"{name} (fold {fold})"
    )


def _trained(table: pd.DataFrame) -> int:
    """(model, fold) pairs that were trials: not the baseline, not a post-processed variant."""
    trials = table[(table.model != BASELINE) & ~table.model.str.endswith(POSTPROCESSED)]
    return int(trials[["model", "fold"]].drop_duplicates().shape[0])


def baseline_pod_curves(root: Path, challenging: list[str]) -> list[dict[str, Any]]:
    """The Otsu baseline's POD curve on each challenging scan, in the trials' curve format, so
    that the report draws it beside the models'."""
    return [
        {"model": BASELINE, "fold": 0, "split": "challenging", **scored.curves}
        for s in dataset_scans(root, ids=challenging)
        for scored in [baseline_metrics(s.volume, s.truth, s.part, s.voxel_size)]
    ]


def model_families(models: Any) -> dict[str, str]:
    """'supervised' or 'anomaly' per model name in the tables (post-processed variants and
    randomized-arm trials take their architecture's family; the baseline has none)."""
    families = {}
    for name in dict.fromkeys(str(m) for m in models):
        base = name.removesuffix(POSTPROCESSED).removesuffix(SUFFIX)
        if name != BASELINE:
            try:
                families[name] = model_spec(base).family
            except ConfigError:  # a name the catalogue does not know (a renamed tuned model): left out
                continue
    return families


def write_report_html(
    config: Any,
    results: pd.DataFrame,
    curves: list[dict[str, Any]],
    seconds: float,
    failed: int,
    findings: list[str],
    overlays: list[Any] | None = None,
) -> Path:
    table = results[results.metric.isin(HEADLINE_METRICS)]
    table = table.groupby(["model", "fold", "split", "metric"], as_index=False)["value"].mean()
    data = ReportData(
        run_name=Path(config.out).name,
        config=to_dict(config),
        results=table,
        findings=findings,
        pr_curves=_curve_frame(curves, "pr", "validation", ("recall", "precision")),
        roc_curves=_curve_frame(curves, "roc", "validation", ("fpr", "tpr")),
        pod_curves=_pod_frame(curves),
        overlays=overlays or None,
        baseline=BASELINE,
        families=model_families(results["model"]),
        **sweep_parts(getattr(config, "include", ())).report_fields(),
        resources=run_resources(seconds, _trained(table), failed),
    )
    return write_report(data, Path(config.out) / "report.html")


def _mean(summary: pd.DataFrame, model: str, split: str, metric: str) -> float:
    row = summary[(summary.model == model) & (summary.split == split) & (summary.metric == metric)]
    return float(row["mean"].iloc[0]) if len(row) else float("nan")


def findings(summary: pd.DataFrame, selected: dict[str, Any]) -> list[str]:
    """What the report states first: why the served model was chosen (and the runner-up), how its
    verdict holds on the challenging scan beside Otsu's, the two arms side by side, post-processing
    of the anomaly models."""
    models = [m for m in summary.model.unique() if m != BASELINE]
    lines = [
        f"Selected for serving: {selected['why']}"
        if "why" in selected
        else f"Selected for serving: {selected['model']}."
    ]
    name = selected["model"]
    if name in models:
        mine = {
            m: _mean(summary, name, "challenging", m) for m in ("dice", "false_calls", "porosity_error_pp", "dice_best")
        }
        otsu = {m: _mean(summary, BASELINE, "challenging", m) for m in ("dice", "false_calls", "porosity_error_pp")}
        lines.append(
            f"On the challenging scan (never used to train, calibrate or select) {name} at its own operating "
            f"point: Dice {mine['dice']:.3f}, {mine['false_calls']:.1f} false calls, porosity error "
            f"{mine['porosity_error_pp']:+.2f} percentage points; the Otsu baseline inside the same part: Dice "
            f"{otsu['dice']:.3f}, {otsu['false_calls']:.1f} false calls, porosity error "
            f"{otsu['porosity_error_pp']:+.2f} pp. (At the threshold best for that scan, a diagnostic, "
            f"{name} reaches Dice {mine['dice_best']:.3f}.)"
        )
    for split in ("validation", "degraded", "selection"):
        dice = {m: _mean(summary, m, split, "dice") for m in models}
        ranked = sorted((m for m in dice if dice[m] == dice[m]), key=lambda m: -dice[m])
        if ranked:
            lines.append(
                f"Mean own-operating-point Dice on the {split} scans: "
                + ", ".join(f"{m} {dice[m]:.3f}" for m in ranked[:4])
                + "."
            )
    lines += arm_findings(summary)
    for model in ("vae", "cevae", "gmvae", "vqvae"):
        if model in models and model + POSTPROCESSED in models:
            for split in ("validation", "challenging"):
                lines.append(
                    f"{model} {split} AP {_mean(summary, model, split, 'ap'):.3f} raw, "
                    f"{_mean(summary, model + POSTPROCESSED, split, 'ap'):.3f} post-processed."
                )
    return lines


def write_outputs(
    config: Any, collected: TrialResults, root: Path, folds: list[Any], challenging: list[str], seconds: float
) -> dict[str, Any]:
    """Everything a run directory holds besides the Tune experiment; returns summary.json's content."""
    out = Path(config.out)
    baseline = baseline_rows(root, folds, challenging, out / "baseline.parquet")
    results = pd.concat([collected.rows, baseline], ignore_index=True)
    results.to_parquet(out / "results.parquet", index=False)
    summary = summarise(results)
    selected = write_registry(config, summary, results, collected.checkpoints) if len(collected.rows) else {}
    lines = findings(summary, selected) if selected else ["No trial finished."]
    overlays = selected_overlays(config, selected, folds, challenging) if selected else None
    curves = collected.curves + baseline_pod_curves(root, challenging)
    report = write_report_html(config, results, curves, seconds, len(collected.failed), lines, overlays)
    return write_summary(
        out,
        lines,
        seconds,
        report,
        collected.failed,
        selected=selected,
        summary=json.loads(summary.to_json(orient="records")),
    )
