"""Train an anomaly model on patches of some scans and measure, on another scan, the voxel
AP of its raw reconstruction error against the post-processed one (Iuso et al.)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from porelab import volume
from porelab.data.sampling import read_patch, uniform_corner
from porelab.data.scans import ScanRecord, load_scans
from porelab.evaluate.ranking import average_precision
from porelab.infer.anomaly_maps import anomaly_scores
from porelab.infer.postprocess import PostprocessConfig
from porelab.infer.sliding import SlidingWindowConfig
from porelab.models import build_model
from porelab.simulate.datasets import build_dataset
from porelab.tasks import Batch, build_task, task_for_model
from porelab.train.loop import LoopConfig, LoopState, run_training
from porelab.volume.atomic import write_text_atomic


@dataclass(frozen=True)
class AnomalyExperimentConfig:
    """model: catalogue name; model_options: its config overrides (patch_size is set from
    `patch`); epochs x steps_per_epoch optimiser steps of `batch_size` random patches."""

    model: str = "vae"
    patch: int = 32
    batch_size: int = 8
    epochs: int = 4
    steps_per_epoch: int = 50
    lr: float = 1e-3
    seed: int = 0
    model_options: dict[str, Any] = field(default_factory=lambda: {"channels": (8, 16, 32, 64), "latent_dim": 128})
    postprocess: PostprocessConfig = PostprocessConfig()


def _normalised_volumes(records: list[ScanRecord]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(normalised grey values, labels) of each scan, in memory (small profiles)."""
    loaded = []
    for record in records:
        scan = record.normaliser(np.asarray(volume.read(record.scan_path).data))
        loaded.append((scan, np.asarray(volume.read(record.label_path).data)))
    return loaded


def patch_batches(
    volumes: list[tuple[np.ndarray, np.ndarray]], config: AnomalyExperimentConfig, rng: np.random.Generator
) -> Iterator[Batch]:
    """`steps_per_epoch` batches of uniformly placed patches from random scans."""
    size = (config.patch,) * 3
    for _ in range(config.steps_per_epoch):
        images, labels = [], []
        for _ in range(config.batch_size):
            scan, label = volumes[int(rng.integers(len(volumes)))]
            corner = uniform_corner(scan.shape, size, rng)
            images.append(read_patch(scan, corner, size))
            labels.append(read_patch(label, corner, size) > 0)
        yield {
            "image": torch.from_numpy(np.stack(images)[:, None].astype(np.float32)),
            "label": torch.from_numpy(np.stack(labels)[:, None].astype(np.float32)),
        }


def train_anomaly_model(train: list[ScanRecord], config: AnomalyExperimentConfig) -> tuple[torch.nn.Module, LoopState]:
    """The model trained with its registered task on random patches of `train` (labels unused)."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    volumes = _normalised_volumes(train)
    model = build_model(config.model, patch_size=config.patch, **config.model_options)
    task = build_task(task_for_model(config.model))
    validation = list(patch_batches(volumes, config, np.random.default_rng(config.seed + 1)))[:2]
    loop = LoopConfig(
        max_epochs=config.epochs, lr=config.lr, patience=config.epochs, steps_per_epoch=config.steps_per_epoch
    )
    state = run_training(model, task, lambda _e: patch_batches(volumes, config, rng), lambda _e: validation, loop)
    return model, state


def postprocessing_effect(model: torch.nn.Module, test: ScanRecord, config: AnomalyExperimentConfig) -> dict[str, Any]:
    """AP of the raw error map and of the post-processed one on the scan `test`, with the fit."""
    scan, labels = _normalised_volumes([test])[0]
    windows = SlidingWindowConfig(window=(config.patch,) * 3, overlap=0.5, weighting="average")
    scores = anomaly_scores(scan, model, windows, postprocessing=config.postprocess)
    fit = scores.fit
    return {
        "scan": test.id,
        "ap_raw": average_precision(scores.raw, labels > 0),
        "ap_postprocessed": average_precision(scores.postprocessed, labels > 0),
        "lambda": fit.lam,
        "sigma": fit.sigma,
        "fit_residual": fit.residual,
    }


@dataclass(frozen=True)
class PostprocessStudyConfig:
    """Iuso et al.'s post-processing study: each of `models` trained on the good scans of `data`
    but `test_scan`, then scored on `test_scan` raw and post-processed; `experiment` holds the
    training sizes (its `model` is replaced by each of `models`)."""

    data: str = "data/am"
    out: str = "runs/anomaly_postprocess"
    models: tuple[str, ...] = ("vae", "cevae")
    test_scan: str = "cube-316L-challenging"
    experiment: AnomalyExperimentConfig = AnomalyExperimentConfig()


def study_table(rows: list[dict[str, Any]]) -> str:
    """The study's rows as a markdown table."""
    lines = [
        "| model | scan | AP raw | AP post-processed | lambda | sigma | train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['scan']} | {r['ap_raw']:.3f} | {r['ap_postprocessed']:.3f} | "
            f"{r['lambda']:.3f} | {r['sigma']:.2f} | {r['train_seconds']:.0f} |"
        )
    return "\n".join(lines)


def run_postprocess_study(
    config: PostprocessStudyConfig, report: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """Run the study (the demo am-cylinders set is simulated into `data` when it is missing);
    write OUT/anomaly_postprocess.json and .md; one row per model."""
    root = Path(config.data)
    if not (root / "manifest.json").exists():
        build_dataset(root, "am-cylinders", "demo", report=report)
    test = load_scans(root, ids=[config.test_scan])[0]
    train = [record for record in load_scans(root, roles=["good"]) if record.id != test.id]
    rows = []
    for name in config.models:
        experiment = replace(config.experiment, model=name)
        start = time.perf_counter()
        model, state = train_anomaly_model(train, experiment)
        seconds = time.perf_counter() - start
        row = {
            "model": name,
            **postprocessing_effect(model, test, experiment),
            "train_seconds": seconds,
            "final_train_loss": state.history[-1].get("train_loss"),
            "config": asdict(experiment),
        }
        rows.append(row)
        report(
            f"{name}: AP raw {row['ap_raw']:.3f} -> post-processed {row['ap_postprocessed']:.3f} "
            f"(lambda {row['lambda']:.3f}, sigma {row['sigma']:.2f}; trained {seconds:.0f} s)"
        )
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "anomaly_postprocess.json", json.dumps(rows, indent=2, default=str) + "\n")
    write_text_atomic(out / "anomaly_postprocess.md", study_table(rows) + "\n")
    return rows
