"""Evaluation like Lindgren & Zach's Tables 2-3: TPR at a fixed FPR per test set and detector.

Test sets, all built on held-out accepted patches: the accepted patches themselves (their
row is the measured FPR), real defects pasted at three contrasts, and the six synthetic OOD
types at each amplitude (named "<type>@<amplitude>"). The first amplitude, 0.1 grey values,
lies inside the peak range of the real defect cut-outs (10th-90th percentile 0.08-0.17), so
an OOD indication is as visible as a contrast-1 defect; the second, 0.05, is about four
times the grain noise. Detectors: the autoencoder trained without perturbations, with real defects, with
natural-image indications, and the supervised patch classifier. Thresholds are set on the
accepted training patches at the target FPR (0.1 %).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np
import torch

from porelab.ood.classifier import ClassifierConfig, train_defect_classifier
from porelab.ood.defects import paste
from porelab.ood.synthetic import OOD_TYPES, synthetic_ood
from porelab.ood.training import PERTURBATIONS, OODTrainingConfig, train_detector
from porelab.ood.weld_data import WeldOODData

CONTRASTS = (1.0, 0.5, 0.25)
CLASSIFIER = "supervised_classifier"


@dataclass(frozen=True)
class EvaluationConfig:
    per_set: int = 500  # patches per defect / OOD test set
    ood_amplitudes: tuple[float, ...] = (0.1, 0.05)  # peaks of the synthetic OOD indications (grey values)
    contrasts: tuple[float, ...] = CONTRASTS
    training: OODTrainingConfig = OODTrainingConfig()
    classifier: ClassifierConfig = ClassifierConfig()


def build_test_sets(data: WeldOODData, config: EvaluationConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """{name: patches (N, size, size)}: "accepted", "defect_contrast_<c>", and "<OOD type>@<amplitude>"."""
    rng = np.random.default_rng(seed)
    sets = {"accepted": data.test_ok}
    for contrast in config.contrasts:
        base = data.test_ok[rng.integers(0, len(data.test_ok), size=config.per_set)]
        sets[f"defect_contrast_{contrast:g}"] = np.stack(
            [paste(p, data.test_cutouts[int(rng.integers(len(data.test_cutouts)))], rng, contrast)[0] for p in base]
        )
    for amplitude in config.ood_amplitudes:
        for kind in OOD_TYPES:
            base = data.test_ok[rng.integers(0, len(data.test_ok), size=config.per_set)]
            sets[f"{kind}@{amplitude:g}"] = np.stack([p + synthetic_ood(kind, p.shape, rng, amplitude) for p in base])
    return sets


def evaluate_once(data: WeldOODData, config: EvaluationConfig, seed: int) -> dict[str, dict[str, float]]:
    """{detector: {test set: fraction flagged}} for one training of every detector."""
    sets = build_test_sets(data, config, seed)
    table: dict[str, dict[str, float]] = {}
    for perturbation in PERTURBATIONS:
        training = replace(config.training, perturbation=perturbation, seed=seed)
        detector = train_detector(data.train_ok, training, data.train_cutouts)
        table[f"ae_{perturbation}"] = {
            name: float(detector.decide(torch.from_numpy(p[:, None])).flagged.mean()) for name, p in sets.items()
        }
    classifier = train_defect_classifier(data.train_ok, data.train_cutouts, replace(config.classifier, seed=seed))
    table[CLASSIFIER] = {name: float(classifier.flags(p).mean()) for name, p in sets.items()}
    return table


Table = dict[str, dict[str, float]]  # {detector: {test set: value}} of one training


def detector_configs(
    epochs: int, steps_per_epoch: int, channels: Sequence[int], latent_dim: int = 8
) -> tuple[OODTrainingConfig, ClassifierConfig]:
    """The autoencoder's and the classifier's training settings, one training length for both."""
    training = OODTrainingConfig(
        epochs=epochs, steps_per_epoch=steps_per_epoch, model={"channels": tuple(channels), "latent_dim": latent_dim}
    )
    return training, ClassifierConfig(epochs=epochs, steps_per_epoch=steps_per_epoch)


def repeat_trainings(
    run_once: Callable[[int], Table], trainings: int, seed: int, progress: Callable[[int, float], None] | None = None
) -> list[Table]:
    """`run_once(seed + i)` for i < `trainings`; `progress(done, seconds)` after each."""
    start = time.perf_counter()
    runs = []
    for index in range(trainings):
        runs.append(run_once(seed + index))
        if progress:
            progress(index + 1, time.perf_counter() - start)
    return runs


def summarise(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    """{detector: {test set: {"mean", "std", "min", "max"}}} over the runs (std with ddof=0)."""
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for detector in runs[0]:
        summary[detector] = {}
        for name in runs[0][detector]:
            values = np.array([run[detector][name] for run in runs])
            summary[detector][name] = {
                "mean": float(values.mean()),
                "std": float(values.std()),
                "min": float(values.min()),
                "max": float(values.max()),
            }
    return summary


def markdown_table(summary: dict[str, dict[str, dict[str, float]]], runs: int, note: str | None = None) -> str:
    """Percent flagged, mean +- std, per test set (rows) and detector (columns); the accepted row
    is the FPR; a row named "auroc" is printed as a fraction."""
    detectors = list(summary)
    header = "| test set | " + " | ".join(detectors) + " |"
    lines = [header, "|" + "---|" * (len(detectors) + 1)]
    for name in summary[detectors[0]]:
        if name == "auroc":
            cells = [f"{summary[d][name]['mean']:.3f} ± {summary[d][name]['std']:.3f}" for d in detectors]
        else:
            cells = [f"{100 * summary[d][name]['mean']:.1f} ± {100 * summary[d][name]['std']:.1f}" for d in detectors]
        label = f"{name} (FPR)" if name == "accepted" else name
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        note
        or f"Percent of patches flagged, mean ± std over {runs} trainings; thresholds at "
        f"0.1 % FPR on the accepted training patches."
    )
    return "\n".join(lines)
