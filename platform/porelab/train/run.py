"""Driver side of a training run: pick scans, build the patch streams, train, export.

`scaling.workers` > 0 trains with a `TorchTrainer` of that many Ray Train workers (DDP, GPUs,
worker restarts); `scaling.workers` = 0 runs the same loop in this process
(`porelab.train.in_process`), which is what a laptop run or a one-CPU sweep trial needs.

A run directory holds `config.json`, `checkpoints/best.pt` and `checkpoints/last.pt`,
`history.parquet` (one row per epoch), `summary.json`, the epochs' TensorBoard scalars under
`tensorboard/` (written by the worker as it trains), and Ray's own records under `ray/`.
Running again with the same directory resumes an unfinished run from `checkpoints/last.pt`
and returns a finished one as it is.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from porelab.checkpoint import read_checkpoint
from porelab.data import ScanRecord, in_memory_patch_dataset, load_scans, ray_patch_dataset, scan_pores
from porelab.errors import ConfigError
from porelab.runtime import ensure_ray
from porelab.train.config import TrainConfig
from porelab.train.in_process import train_in_process
from porelab.train.worker import train_func
from porelab.volume.atomic import write_text_atomic


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    best_checkpoint: Path
    last_checkpoint: Path
    summary: dict[str, Any]


def split_scans(scans: Sequence[ScanRecord], config: TrainConfig) -> tuple[list[ScanRecord], list[ScanRecord]]:
    """(train, validation) scans: the ids in the config; else the scans of roles 'train' and
    'validation' where the dataset has both; else every 'good' scan but the last / the last."""
    if config.train_ids or config.val_ids:
        by_id = {s.id: s for s in scans}
        missing = [i for i in (*config.train_ids, *config.val_ids) if i not in by_id]
        if missing:
            raise ConfigError(f"scan ids {missing} are not in the dataset; expected some of {sorted(by_id)}")
        val = [by_id[i] for i in config.val_ids]
        train = [by_id[i] for i in config.train_ids] or [s for s in scans if s.role == "good" and s not in val]
        return train, val
    by_role = {role: [s for s in scans if s.role == role] for role in ("train", "validation")}
    if by_role["train"] and by_role["validation"]:  # a dataset drawn for training (am-randomized)
        return by_role["train"], by_role["validation"]
    good = [s for s in scans if s.role == "good"]
    if len(good) < 2:
        raise ConfigError(
            f"{len(good)} 'good' scan(s) in the dataset; expected at least two (train and validation) "
            "or explicit train_ids/val_ids"
        )
    return good[:-1], good[-1:]


def _finished(run_dir: Path) -> dict[str, Any] | None:
    summary = run_dir / "summary.json"
    if summary.exists():
        data = json.loads(summary.read_text())
        if data.get("finished"):
            return data
    return None


def _resume_source(run_dir: Path) -> Path | None:
    """The newest complete checkpoint directory of an interrupted run (None for a new run)."""
    staged = sorted((run_dir / "staging").glob("epoch-*"), reverse=True)
    for candidate in [*staged, run_dir / "checkpoints"]:
        if (candidate / "last.pt").exists() and (candidate / "best.pt").exists():
            return candidate
    return None


def _epochs_done(resume: Path | None) -> int:
    """The finished epochs of the interrupted run whose checkpoints are in `resume` (0: a new run)."""
    if resume is None:
        return 0
    return int(read_checkpoint(resume / "last.pt")["loop_state"]["epoch"])


def _export(directory: Path, run_dir: Path) -> tuple[Path, Path]:
    target = run_dir / "checkpoints"
    target.mkdir(exist_ok=True)
    for name in ("best.pt", "last.pt"):
        shutil.copy(Path(directory) / name, target / f".{name}.partial")
        (target / f".{name}.partial").replace(target / name)
    return target / "best.pt", target / "last.pt"


def _write_history(run_dir: Path, last: Path, config: TrainConfig, seconds: float) -> dict[str, Any]:
    import pandas as pd

    payload = read_checkpoint(last)
    history = payload["loop_state"].get("history", [])
    pd.DataFrame(history).to_parquet(run_dir / "history.parquet", index=False)
    best_epoch = payload["loop_state"].get("best_epoch", -1) + 1
    best = next((h for h in history if h["epoch"] == best_epoch), history[-1] if history else {})
    summary = {
        "finished": True,
        "model": config.model.name,
        "epochs": len(history),
        "best_epoch": best_epoch,
        "best_metrics": best,
        "seconds": round(seconds, 1),
        "checkpoints": {"best": "checkpoints/best.pt", "last": "checkpoints/last.pt"},
    }
    write_text_atomic(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


def _trainer(config: TrainConfig, datasets: dict[str, Any], run_dir: Path, resume: Path | None) -> Any:
    from ray.train import CheckpointConfig, DataConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    scaling = config.scaling
    # Train V2 refuses resume_from_checkpoint; the worker reads the directory itself instead
    return TorchTrainer(
        train_func,
        train_loop_config={
            "config": config.to_dict(),
            "run_dir": str(run_dir),
            "resume_from": str(resume) if resume else None,
        },
        scaling_config=ScalingConfig(
            num_workers=scaling.workers,
            use_gpu=scaling.use_gpu,
            resources_per_worker={"CPU": scaling.cpus_per_worker} if scaling.workers else None,
        ),
        run_config=RunConfig(
            name="train",
            storage_path=str((run_dir / "ray").resolve()),
            failure_config=FailureConfig(max_failures=scaling.max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=2),
        ),
        datasets=datasets,
        # one worker reads the whole stream itself: a split would start a coordinator actor for nothing
        dataset_config=DataConfig(datasets_to_split=["train"] if scaling.workers > 1 else []),
    )


def fit(config: TrainConfig, data: str | Path, out: str | Path, *, ray_address: str | None = None) -> TrainResult:
    """Train `config` on the dataset at `data`, writing the run directory `out` (resumable)."""
    run_dir = Path(out)
    run_dir.mkdir(parents=True, exist_ok=True)
    if (done := _finished(run_dir)) is not None:
        return TrainResult(run_dir, run_dir / "checkpoints/best.pt", run_dir / "checkpoints/last.pt", done)
    write_text_atomic(run_dir / "config.json", json.dumps({"data": str(data), **config.to_dict()}, indent=2) + "\n")
    ensure_ray(ray_address)
    train, val = split_scans(load_scans(data), config)
    resume = _resume_source(run_dir)
    rows = config.loop.max_epochs * config.stream.patches_per_epoch
    first_row = _epochs_done(resume) * config.stream.patches_per_epoch
    per_pore = config.patches.sampler.pore_weighting == "pore"
    datasets = {
        "train": ray_patch_dataset(
            train,
            scan_pores(train, per_pore),
            config.patches,
            rows,
            config.stream,
            train=True,
            first_row=min(first_row, rows - 1),
        ),
        "val": in_memory_patch_dataset(
            val, scan_pores(val, per_pore), config.patches, config.stream.val_patches, train=False
        ),
    }  # same patches every epoch
    start = time.perf_counter()
    if config.scaling.workers == 0:
        best, last = _export(train_in_process(config, datasets, run_dir, resume), run_dir)
    else:
        result = _trainer(config, datasets, run_dir, resume).fit()
        with result.checkpoint.as_directory() as directory:
            best, last = _export(Path(directory), run_dir)
    summary = _write_history(run_dir, last, config, time.perf_counter() - start)
    summary.update({"train_scans": [s.id for s in train], "val_scans": [s.id for s in val]})
    write_text_atomic(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return TrainResult(run_dir, best, last, summary)
