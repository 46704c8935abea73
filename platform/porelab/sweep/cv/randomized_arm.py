"""The cross-validation's second arm: the same models trained on a randomized dataset
(`porelab simulate --preset am-randomized`) with the simulator's artefact augmentation, then
calibrated and scored exactly as the paper arm is: on each fold's validation scans, their
degraded copies, the selection scans and the challenging scan of the cross-validation's dataset.

A trial reads one dataset, so the arm trains on a derived one, OUT/arms/randomized/: its
manifest lists every scan of the cross-validation's dataset and the 'train' scans of the
randomized set, each pointing at its files where they lie (nothing is copied). The randomized
set's 'validation' scans are left out (they calibrate the bundled detector). Every fold of the
arm trains on the same scans, with the fold as its seed, so the folds' spread is that of the
training and of the calibration scans. Arm trials are named `<model>@randomized` in every
table and run as their own Tune experiment, so adding the arm to a finished run keeps that
run's trials.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd

from porelab.data.scans import require_dataset
from porelab.errors import ConfigError
from porelab.simulate.datasets.manifest import MANIFEST, read_manifest, with_absolute_files, write_manifest
from porelab.sweep.plan import TrialGroup, TrialPlan, plan_trials
from porelab.train.config import ARTEFACT_AUGMENT

SUFFIX = "@randomized"
EXPERIMENT = "tune-randomized"
TRAIN_ROLE = "train"
_ARM_DIR = ("arms", "randomized")


def arm_name(model: str) -> str:
    """The name of `model`'s randomized-arm trials in the tables: 'unet' -> 'unet@randomized'."""
    return model + SUFFIX


def is_arm(name: str) -> bool:
    return SUFFIX in name


def arm_models(config: Any) -> tuple[str, ...]:
    """The catalogue names of the models the arm trains (empty when the run has no randomized dataset)."""
    if not config.randomized:
        return ()
    return tuple(config.randomized_models or config.models)


def arm_root(config: Any) -> Path:
    """OUT/arms/randomized: the derived dataset the arm's trials read."""
    return Path(config.out).joinpath(*_ARM_DIR)


def _train_entries(randomized: Path) -> list[dict[str, Any]]:
    require_dataset(randomized)
    scans = read_manifest(randomized)["scans"]
    entries = [e for e in scans if e["role"] == TRAIN_ROLE]
    if not entries:
        roles = sorted({e["role"] for e in scans})
        raise ConfigError(
            f"--randomized {randomized}: {randomized / 'manifest.json'} has no scan with role "
            f"{TRAIN_ROLE!r} (roles {roles}); expected a set made by `porelab simulate --preset "
            "am-randomized`"
        )
    return entries


def arm_dataset(data: str | Path, randomized: str | Path, target: str | Path) -> Path:
    """The derived dataset at `target`: every scan of `data` and the 'train' scans of `randomized`
    (rewritten only when its scans change, so a resumed run reads the same manifest)."""
    data, randomized, target = Path(data), Path(randomized), Path(target)
    require_dataset(data)
    base = read_manifest(data)
    extra = _train_entries(randomized)
    clash = sorted({e["id"] for e in base["scans"]} & {e["id"] for e in extra})
    if clash:
        raise ConfigError(
            f"--randomized {randomized}: scan ids {clash} are also in {data / MANIFEST}; expected "
            "two datasets with distinct scan ids"
        )
    manifest = {
        **base,
        "scans": [with_absolute_files(data, e) for e in base["scans"]]
        + [with_absolute_files(randomized, e) for e in extra],
        "derived_from": {"scans": str(data.resolve()), "training": str(randomized.resolve())},
    }
    if not (target / MANIFEST).exists() or _signature(read_manifest(target)) != _signature(manifest):
        target.mkdir(parents=True, exist_ok=True)
        write_manifest(target, manifest)
    return target


def _signature(manifest: dict[str, Any]) -> list[Any]:
    """What makes two arm manifests the same (not the intensity statistics the scan loader adds)."""
    return [manifest.get("derived_from"), [(e["id"], e["role"], e["files"]) for e in manifest["scans"]]]


def _artefact_augmentation() -> tuple[str, ...]:
    """The artefact augmentation of the bundled detector's profile, as TrainConfig overrides."""
    return tuple(f"patches.augment.{k}={json.dumps(v)}" for k, v in dataclasses.asdict(ARTEFACT_AUGMENT).items())


def arm_plans(config: Any, root: Path) -> dict[str, TrialPlan]:
    """What each arm trial trains and where it is scored, keyed '<model>@randomized/<fold>': the
    randomized set's training scans on every fold, with the fold as the seed; the arm's dataset is
    made (or checked) here, before Ray starts."""
    models = arm_models(config)
    if not models:
        return {}
    derived = arm_dataset(root, config.randomized, arm_root(config))
    train_ids = tuple(e["id"] for e in read_manifest(derived)["scans"] if e["role"] == TRAIN_ROLE)
    groups = [
        TrialGroup(
            name=arm_name(model),
            model=model,
            data=root,
            overrides=(*_artefact_augmentation(), *config.overrides),
            reads=derived,
            train_ids=train_ids,
            seed_with_fold=True,
        )
        for model in models
    ]
    return plan_trials(groups, config.folds, config.profile, config.worker_cpus)


def _mean_ci(summary: pd.DataFrame, model: str, metric: str) -> tuple[float, float, float] | None:
    row = summary[(summary.model == model) & (summary.split == "challenging") & (summary.metric == metric)]
    return (float(row["mean"].iloc[0]), float(row.ci_low.iloc[0]), float(row.ci_high.iloc[0])) if len(row) else None


def arm_findings(summary: pd.DataFrame) -> list[str]:
    """One line per model trained in both arms: its challenging-scan AP and own-operating-point Dice
    in the paper arm and in the randomized arm (mean over folds, 95 % CI)."""
    lines = []
    for name in sorted(m for m in summary.model.unique() if is_arm(m)):
        paper = name.replace(SUFFIX, "")
        cells = []
        for metric in ("ap", "dice"):
            both = _mean_ci(summary, paper, metric), _mean_ci(summary, name, metric)
            if None in both:
                continue
            (p, pl, ph), (r, rl, rh) = both
            cells.append(f"{metric} {p:.3f} [{pl:.3f}, {ph:.3f}] -> {r:.3f} [{rl:.3f}, {rh:.3f}]")
        if cells:
            lines.append(
                f"Challenging scan, paper arm -> randomized arm (mean over folds, 95 % CI), {paper}: "
                + "; ".join(cells)
                + "."
            )
    return lines
