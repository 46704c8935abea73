"""Per-epoch TensorBoard scalars of a training run, in `<run_dir>/tensorboard/`.

Every number of an epoch's metrics dict (train loss terms, validation loss and metrics,
patches/s, seconds) plus the learning rate becomes one scalar whose step is the epoch, so
`porelab dashboard` shows curves per run, per fold and per parameter. The writer is
tensorboardX's, which Ray Tune already depends on. Nothing here knows Ray: the Ray Train
worker calls it from rank 0 in its `on_epoch_end`.
"""

from __future__ import annotations

import math
import numbers
import os
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import torch

if TYPE_CHECKING:
    from tensorboardX import SummaryWriter

TENSORBOARD_DIR = "tensorboard"
_SECTIONS = ("train", "val")  # metric-name prefixes that become TensorBoard sections


def tensorboard_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / TENSORBOARD_DIR


def open_writer(run_dir: str | Path, start_epoch: int = 0) -> "SummaryWriter":
    """A writer appending a new event file to `<run_dir>/tensorboard/`.

    `start_epoch` is the number of epochs already completed (a resumed run): TensorBoard then
    hides the older file's steps after it, which a crashed run wrote past its last checkpoint.
    """
    from tensorboardX import SummaryWriter

    directory = tensorboard_dir(run_dir)
    directory.mkdir(parents=True, exist_ok=True)
    # tensorboardX names files by the second and host only; a resume within the same second
    # would truncate the earlier file. The epoch keeps files in resume order when sorted.
    suffix = f".e{start_epoch:05d}.{os.getpid()}"
    return SummaryWriter(
        str(directory), purge_step=start_epoch + 1 if start_epoch > 0 else None, filename_suffix=suffix
    )


def scalar_tag(key: str) -> str:
    """'train_loss' -> 'train/loss', 'val_ap' -> 'val/ap', anything else -> 'run/<key>'."""
    section, _, rest = key.partition("_")
    return f"{section}/{rest}" if section in _SECTIONS and rest else f"run/{key}"


def learning_rates(optimiser: torch.optim.Optimizer) -> dict[str, float]:
    groups = optimiser.param_groups
    if len(groups) == 1:
        return {"lr": float(groups[0]["lr"])}
    return {f"lr_group{i}": float(group["lr"]) for i, group in enumerate(groups)}


def epoch_scalars(metrics: Mapping[str, object], optimiser: torch.optim.Optimizer | None = None) -> dict[str, float]:
    """The numeric entries of `metrics` (booleans and NaN/inf dropped) and the learning rate(s)."""
    scalars = {
        key: float(value)
        for key, value in metrics.items()
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    }
    if optimiser is not None:
        scalars.update(learning_rates(optimiser))
    return scalars


def write_epoch(writer: "SummaryWriter", epoch: int, scalars: Mapping[str, float]) -> None:
    """One point per scalar at step `epoch`, flushed so a live dashboard sees it at once."""
    for key, value in scalars.items():
        writer.add_scalar(scalar_tag(key), value, global_step=epoch)
    writer.flush()
