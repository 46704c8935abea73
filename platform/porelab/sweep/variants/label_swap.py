"""Label swap (Iuso et al. §4.4): supervised models trained on post-processed ceVAE labels versus
on Otsu labels, both compared on the challenging scan's true labels.

Each label set is a derived dataset directory (OUT/labels/<set>/): its manifest points at the
original scans and materials, and replaces the pore labels and pore table of every 'good'
(training) scan with the label set's; the challenging scan keeps its true labels. Scores on
the validation split are therefore against the label set a model was trained on (what a user
without ground truth would see); scores on the challenging split are against the truth.
OUT/label_quality.parquet says how close each label set is to the truth on the training scans.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from porelab import volume
from porelab.checkpoint import CheckpointInfo
from porelab.data import load_scans
from porelab.data.scans import ScanRecord, require_dataset
from porelab.errors import ConfigError
from porelab.evaluate import dice
from porelab.infer.anomaly_maps import anomaly_scores
from porelab.infer.predict import load_score_model
from porelab.infer.sliding import SlidingWindowConfig
from porelab.label import anomaly_labels, object_mask, otsu_pores, pore_table
from porelab.report import format_mean_ci
from porelab.runtime import ensure_ray
from porelab.simulate.datasets.manifest import read_manifest, sha256, with_absolute_files, write_manifest
from porelab.sweep.console import announce_logs
from porelab.sweep.run_dir import start_run
from porelab.sweep.variants.run import SweepConfig, Variant, finish_variant_sweep, run_variants, summarise_variants
from porelab.train.config import training_config
from porelab.train.run import fit

LABEL_SETS = ("cevae", "otsu")
SUPERVISED = ("unet", "unetpp", "unet3plus", "mss_unet")
Labeller = Callable[[ScanRecord], np.ndarray]


@dataclass(frozen=True)
class LabelSwapConfig:
    """`cevae`: a ceVAE checkpoint to label with (empty: train one on the dataset's good scans first)."""

    sweep: SweepConfig = field(default_factory=lambda: SweepConfig(out="runs/label-swap-demo"))
    models: tuple[str, ...] = SUPERVISED
    cevae: str = ""
    cevae_overrides: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.models:
            raise ConfigError("LabelSwapConfig.models: expected at least one supervised model")
        if self.cevae and not Path(self.cevae).is_file():
            raise ConfigError(f"LabelSwapConfig.cevae = {self.cevae!r}: no such checkpoint file")


def quick_swap(config: LabelSwapConfig) -> LabelSwapConfig:
    """One supervised model on two folds."""
    return replace(config, models=config.models[:1], sweep=replace(config.sweep, folds=min(config.sweep.folds, 2)))


def otsu_labeller(scan: ScanRecord) -> np.ndarray:
    """Iuso et al.'s Algorithm 1 on the scan's grey values."""
    return otsu_pores(volume.read(scan.scan_path).to_numpy()).pore_labels


class CevaeLabeller:
    """Labels from a trained ceVAE: reconstruction error, edge-suppressing post-processing, Otsu
    threshold of the positive scores inside the Otsu object mask (no ground truth is used)."""

    def __init__(self, checkpoint: str | Path) -> None:
        model, payload = load_score_model(checkpoint)
        self.model = model.model
        self.window = CheckpointInfo.from_payload(payload).window

    def __call__(self, scan: ScanRecord) -> np.ndarray:
        grey = volume.read(scan.scan_path).to_numpy()
        scores = anomaly_scores(
            grey, self.model, SlidingWindowConfig(window=self.window, weighting="average"), transform=scan.normaliser
        )
        return anomaly_labels(scores.postprocessed, object_mask=object_mask(grey)[0]).labels


def train_cevae(config: LabelSwapConfig) -> Path:
    """A ceVAE trained (resumably) on the dataset's good scans in OUT/cevae; its best checkpoint."""
    overrides = [*config.sweep.overrides, *config.cevae_overrides]
    return fit(
        training_config(config.sweep.profile, "cevae", None, overrides),
        config.sweep.data,
        Path(config.sweep.out) / "cevae",
    ).best_checkpoint


def _relabelled_entry(
    root: Path, target: Path, entry: dict[str, Any], labels: np.ndarray, voxel_size: tuple[float, float, float]
) -> dict[str, Any]:
    derived = copy.deepcopy(with_absolute_files(root, entry))
    (target / entry["id"]).mkdir(parents=True, exist_ok=True)
    labels_file, pores_file = f"{entry['id']}/labels.npy", f"{entry['id']}/pores.parquet"
    volume.write(labels.astype(np.int32), target / labels_file, voxel_size=voxel_size, overwrite=True)
    pore_table(labels, voxel_size=voxel_size).table.to_parquet(target / pores_file, index=False)
    derived["files"].update(labels=labels_file, pores=pores_file)
    derived["sha256"] = {
        **entry.get("sha256", {}),
        "labels": sha256(target / labels_file),
        "pores": sha256(target / pores_file),
    }
    return derived


def derive_label_dataset(root: str | Path, target: str | Path, labeller: Labeller) -> Path:
    """`root` with the labels of every 'good' scan replaced by `labeller`'s (kept when already made)."""
    root, target = Path(root), Path(target)
    if (target / "manifest.json").exists():
        return target
    records = {s.id: s for s in load_scans(root)}
    manifest = read_manifest(root)
    entries = []
    for entry in manifest["scans"]:
        if entry["role"] == "good":
            scan = records[entry["id"]]
            entries.append(_relabelled_entry(root, target, entry, labeller(scan), scan.voxel_size))
        else:
            entries.append(copy.deepcopy(with_absolute_files(root, entry)))
    target.mkdir(parents=True, exist_ok=True)
    write_manifest(target, {**manifest, "scans": entries, "derived_from": str(root.resolve())})  # last: marks done
    return target


def label_quality(root: str | Path, derived: dict[str, Path]) -> pd.DataFrame:
    """label_set, scan, dice against the true pore mask, true and derived pore counts, per good scan."""
    root = Path(root)
    truth_files = {e["id"]: e["files"]["labels"] for e in read_manifest(root)["scans"]}
    rows = []
    for name, path in derived.items():
        for entry in (e for e in read_manifest(path)["scans"] if e["role"] == "good"):
            truth = volume.read(root / truth_files[entry["id"]]).to_numpy()
            labels = volume.read(path / entry["files"]["labels"]).to_numpy()
            rows.append(
                {
                    "label_set": name,
                    "scan": entry["id"],
                    "dice": float(dice(labels > 0, truth > 0)),
                    "true_pores": int(np.unique(truth[truth > 0]).size),
                    "derived_pores": int(np.unique(labels[labels > 0]).size),
                }
            )
    return pd.DataFrame(rows)


def swap_variants(config: LabelSwapConfig, derived: dict[str, Path]) -> list[Variant]:
    return [
        Variant(name=f"{model}@{name}-labels", model=model, data=str(path))
        for name, path in derived.items()
        for model in config.models
    ]


def _findings(summary: pd.DataFrame, quality: pd.DataFrame) -> list[str]:
    lines = [
        f"{name} labels: mean Dice {group.dice.mean():.3f} against the truth on the training scans."
        for name, group in quality.groupby("label_set")
    ]
    picked = summary[
        (summary.split == "challenging")
        & (summary.metric.isin(["ap", "dice_best"]))
        & (summary.variant.str.split("@").str[0] == summary.model)
    ]
    for row in picked.itertuples():
        interval = format_mean_ci(row.mean, (row.ci_high - row.ci_low) / 2, row.metric, int(row.n))
        lines.append(f"{row.variant}: challenging {row.metric} {interval} (mean over folds, 95 % CI; true labels).")
    return lines


def make_label_sets(config: LabelSwapConfig) -> dict[str, Path]:
    """OUT/labels/cevae and OUT/labels/otsu (the ceVAE trained first when no checkpoint is given)."""
    out = Path(config.sweep.out)
    cevae = Path(config.cevae) if config.cevae else train_cevae(config)
    return {
        "cevae": derive_label_dataset(config.sweep.data, out / "labels" / "cevae", CevaeLabeller(cevae)),
        "otsu": derive_label_dataset(config.sweep.data, out / "labels" / "otsu", otsu_labeller),
    }


def run_label_swap(config: LabelSwapConfig) -> dict[str, Any]:
    """Make both label sets, run the supervised models on each, write results, summary and report."""
    require_dataset(config.sweep.data)
    out = start_run(config.sweep.out, config)
    # the ceVAE trains before the sweep starts Ray: Ray starts here so its workers' output goes
    # to the log folder from the first trial on, as in the other sweeps
    ensure_ray(log_to_driver=config.sweep.verbose)
    announce_logs(out, config.sweep.verbose)
    start = time.perf_counter()
    derived = make_label_sets(config)
    quality = label_quality(config.sweep.data, derived)
    quality.to_parquet(out / "label_quality.parquet", index=False)
    results = run_variants(config.sweep, swap_variants(config, derived), "label-swap")
    findings = _findings(summarise_variants(results.rows), quality)
    named = results.rows.assign(model=results.rows.variant)
    quality_rows = json.loads(quality.to_json(orient="records"))
    return finish_variant_sweep(config, results, findings, start, named, label_quality=quality_rows)
