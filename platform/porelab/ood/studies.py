"""The two studies of the patch OOD detectors, each repeated over independent trainings:
Lindgren & Zach's Tables 2-3 on simulated welds (`run_weld_study`: TPR at 0.1 % FPR per test
set and detector) and the real-data check on GDXray casting patches (`run_castings_study`:
percent of test patches flagged and ROC AUC). Each writes <stem>.json (settings, summary, every
run) and <stem>.md (the table) into its output folder; `jobs/ood_welds.py` and
`jobs/ood_castings.py` only parse their arguments and call these.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from porelab.ood.castings import evaluate_castings, read_casting_patches
from porelab.ood.evaluate import (
    EvaluationConfig,
    detector_configs,
    evaluate_once,
    markdown_table,
    repeat_trainings,
    summarise,
)
from porelab.ood.weld_data import weld_ood_data
from porelab.volume.atomic import write_text_atomic

Report = Callable[[str], None]


@dataclass(frozen=True)
class DetectorTraining:
    """How each detector trains, and how many independent trainings (seeds `seed`, `seed` + 1, ...)."""

    trainings: int = 3
    epochs: int = 6
    steps_per_epoch: int = 200
    channels: tuple[int, ...] = (8, 16)  # the autoencoder's widths
    seed: int = 0


@dataclass(frozen=True)
class WeldStudyConfig:
    out: str = "runs/ood_welds"
    training: DetectorTraining = field(default_factory=DetectorTraining)
    train_patches: int = 2000  # accepted training patches
    test_patches: int = 2000  # accepted test patches
    per_set: int = 500  # patches per defect / OOD test set
    size: int = 64  # patch edge in pixels
    ood_amplitudes: tuple[float, ...] = (0.1, 0.05)  # peaks of the synthetic OOD types (grey values)


@dataclass(frozen=True)
class CastingStudyConfig:
    data: str  # a folder with train/ and test/, each class_0/ (sound) and class_1/ (defect)
    out: str = "runs/ood_castings"
    training: DetectorTraining = field(default_factory=DetectorTraining)


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The `DetectorTraining` arguments both study jobs take (`detector_training` reads them)."""
    parser.add_argument("--trainings", type=int, default=3, help="independent trainings (seeds) per detector")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--steps-per-epoch", type=int, default=200)
    parser.add_argument("--channels", type=int, nargs="+", default=[8, 16], help="autoencoder widths")
    parser.add_argument("--seed", type=int, default=0)


def detector_training(args: argparse.Namespace) -> DetectorTraining:
    return DetectorTraining(args.trainings, args.epochs, args.steps_per_epoch, tuple(args.channels), args.seed)


def _repeat(training: DetectorTraining, run_once: Callable[[int], Any], report: Report) -> list[Any]:
    return repeat_trainings(
        run_once,
        training.trainings,
        training.seed,
        lambda done, seconds: report(f"training {done}/{training.trainings} done after {seconds:.0f} s"),
    )


def _write(out: str, stem: str, record: dict[str, Any], table: str) -> None:
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(folder / f"{stem}.json", json.dumps(record, indent=2) + "\n")
    write_text_atomic(folder / f"{stem}.md", table + "\n")


def _settings(config: Any) -> dict[str, Any]:
    return {k: v for k, v in asdict(config).items() if k != "out"}


def run_weld_study(config: WeldStudyConfig, report: Report = print) -> dict[str, Any]:
    """Simulated welds: the autoencoder without perturbations, with real defects and with
    natural-image indications against the supervised classifier; ood_tpr.json and ood_tpr.md."""
    start = time.perf_counter()
    data = weld_ood_data(config.train_patches, config.test_patches, config.size, seed=config.training.seed)
    training, classifier = detector_configs(
        config.training.epochs, config.training.steps_per_epoch, config.training.channels
    )
    evaluation = EvaluationConfig(
        per_set=config.per_set, ood_amplitudes=config.ood_amplitudes, training=training, classifier=classifier
    )
    runs = _repeat(config.training, lambda seed: evaluate_once(data, evaluation, seed), report)
    summary = summarise(runs)
    record = {"settings": _settings(config), "summary": summary, "runs": runs, "seconds": time.perf_counter() - start}
    table = markdown_table(summary, config.training.trainings)
    _write(config.out, "ood_tpr", record, table)
    return {**record, "table": table}


def run_castings_study(config: CastingStudyConfig, report: Report = print) -> dict[str, Any]:
    """GDXray casting patches: thresholds at 0.1 % FPR on the sound training patches, then the
    share of test patches flagged and ROC AUC; castings.json and castings.md."""
    start = time.perf_counter()
    patches = read_casting_patches(config.data)
    training, classifier = detector_configs(
        config.training.epochs, config.training.steps_per_epoch, config.training.channels
    )
    runs = _repeat(config.training, lambda seed: evaluate_castings(patches, training, classifier, seed), report)
    summary = summarise(runs)
    counts = {
        name: len(getattr(patches, name)) for name in ("train_sound", "train_defect", "test_sound", "test_defect")
    }
    record = {
        "settings": _settings(config),
        "patches": counts,
        "summary": summary,
        "runs": runs,
        "seconds": time.perf_counter() - start,
    }
    note = (
        f"Percent of test patches flagged ({counts['test_sound']} sound, {counts['test_defect']} defect), "
        f"mean ± std over {config.training.trainings} trainings; thresholds at 0.1 % FPR on the "
        f"{counts['train_sound']} sound training patches; auroc: ROC AUC of the score on the test patches."
    )
    table = markdown_table(summary, config.training.trainings, note)
    _write(config.out, "castings", record, table)
    return {**record, "table": table}
