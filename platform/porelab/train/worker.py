"""The Ray Train worker function: `run_training` fed by the worker's dataset shard.

Each finished epoch is reported with a checkpoint directory holding `last.pt` and `best.pt`
(rank 0 writes it, `EpochCheckpoints`), so a restarted worker group resumes from the last epoch
and the driver can export both files from the final checkpoint, on one machine or a cluster
alike. Rank 0 also writes each epoch's scalars to `<run_dir>/tensorboard/` for `porelab
dashboard`. `porelab.train.in_process` runs the same loop with the same epoch checkpoints in
the calling process.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Iterator

import torch

from porelab.checkpoint import read_checkpoint, save_checkpoint, unwrap
from porelab.models import build_model
from porelab.models.layout import fast_layout
from porelab.tasks import Batch
from porelab.train.config import TrainConfig
from porelab.train.loop import EpochResult, LoopState, run_training
from porelab.train.tensorboard import epoch_scalars, open_writer, write_epoch

_FAULT_MARKER = "fault-drill-done"
_FAULT_GRACE_SECONDS = 5.0


def epoch_batches(iterator: Iterator[dict[str, torch.Tensor]], steps: int, before_step: Any = None) -> Iterator[Batch]:
    for step in range(steps):
        batch = next(iterator, None)
        if batch is None:
            return
        if before_step is not None:
            before_step(step)
        yield batch


def restore(
    model: torch.nn.Module, optimiser: torch.optim.Optimizer, directory: str | Path | None, init_from: str = ""
) -> tuple[LoopState, bytes | None]:
    """Loop state and the best checkpoint's bytes from a checkpoint directory (`last.pt` and
    `best.pt`) of an interrupted run; a new run (no directory) starts from `init_from`'s weights
    when given, with a fresh optimiser and loop."""
    if directory is None:
        if init_from:
            unwrap(model).load_state_dict(read_checkpoint(init_from)["state_dict"])
        return LoopState(), None
    payload = read_checkpoint(Path(directory) / "last.pt")
    best_bytes = (Path(directory) / "best.pt").read_bytes()
    unwrap(model).load_state_dict(payload["state_dict"])
    if payload["optimiser"]:
        optimiser.load_state_dict(payload["optimiser"])
    return LoopState.from_dict(payload["loop_state"]), best_bytes


def _restore_in_worker(
    model: torch.nn.Module, optimiser: torch.optim.Optimizer, resume_from: str | None, init_from: str
) -> tuple[LoopState, bytes | None]:
    """`restore` from Ray's latest checkpoint (a worker group restarted by FailureConfig), else
    from `resume_from` (a rerun of an interrupted run)."""
    import ray.train

    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        return restore(model, optimiser, resume_from, init_from)
    with checkpoint.as_directory() as directory:
        return restore(model, optimiser, directory, init_from)


class EpochCheckpoints:
    """What rank 0 does after every epoch, in a Ray Train worker and in-process alike: print the
    epoch's line, write its TensorBoard scalars, and write `last.pt` and `best.pt` into the
    epoch's staging directory (returned), dropping older ones."""

    def __init__(
        self, model: torch.nn.Module, config: dict[str, Any], run_dir: str, best_bytes: bytes | None, start_epoch: int
    ) -> None:
        self.model, self.config, self.run_dir, self.best_bytes = model, config, run_dir, best_bytes
        self.writer = open_writer(run_dir, start_epoch=start_epoch)
        self.max_epochs = int(config["loop"]["max_epochs"])
        self.threshold = float(config["loop"]["threshold"])

    def save(self, result: EpochResult, state: LoopState, optimiser: torch.optim.Optimizer) -> Path:
        _print_epoch(result, self.max_epochs)
        write_epoch(self.writer, result.epoch, epoch_scalars(result.metrics, optimiser))
        directory = _staging_dir(self.run_dir, result.epoch)
        last = save_checkpoint(
            directory / "last.pt",
            self.model,
            self.config,
            epoch=result.epoch,
            metrics=result.metrics,
            loop_state=state.to_dict(),
            optimiser=optimiser,
            threshold=self.threshold,
        )
        if result.is_best or self.best_bytes is None:
            self.best_bytes = last.read_bytes()
        (directory / "best.pt").write_bytes(self.best_bytes)
        return directory

    def drop_older(self, epoch: int) -> None:
        _drop_old_staging(self.run_dir, keep=epoch)

    def close(self) -> None:
        self.writer.close()


def _fault_drill(run_dir: str, fail_at_epoch: int, epoch: int, step: int) -> None:
    """Exit this worker once, in the second step after `fail_at_epoch` completed epochs.

    Exercises `FailureConfig`: the restarted worker group must resume from that epoch's
    checkpoint. The pause before dying stands for the rest of an epoch: Ray Train's controller
    registers a reported checkpoint asynchronously, and a worker that dies within a moment of
    `report` can take the registration with it.
    """
    marker = Path(run_dir) / _FAULT_MARKER
    if fail_at_epoch >= 0 and epoch == fail_at_epoch and step == 1 and not marker.exists():
        marker.write_text(f"worker exited on purpose during epoch {epoch + 1}\n")
        time.sleep(_FAULT_GRACE_SECONDS)
        os._exit(1)


def _staging_dir(run_dir: str, epoch: int) -> Path:
    """Where rank 0 writes an epoch's checkpoint (before reporting it, in a Ray Train worker).

    Not a temporary directory: Ray keeps referring to a reported checkpoint's directory, and an
    interrupted run resumes from the newest one (`porelab.train.run`).
    """
    path = Path(run_dir) / "staging" / f"epoch-{epoch:04d}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _drop_old_staging(run_dir: str, keep: int) -> None:
    for old in (Path(run_dir) / "staging").glob("epoch-*"):
        if int(old.name.split("-")[1]) < keep - 1:
            shutil.rmtree(old, ignore_errors=True)


def _world() -> tuple[int, int]:
    import ray.train

    context = ray.train.get_context()
    return context.get_world_rank(), context.get_world_size()


def train_func(loop_config: dict[str, Any]) -> None:
    """Entry point of every Ray Train worker (`train_loop_per_worker`)."""
    import ray.train
    import ray.train.torch

    config = TrainConfig.from_dict(loop_config["config"])
    rank, world = _world()
    model = ray.train.torch.prepare_model(prepared_model(config, seed_offset=rank))
    device = next(model.parameters()).device
    task = config.build_task()
    optimiser = torch.optim.Adam(model.parameters(), lr=config.loop.lr)
    state, best_bytes = _restore_in_worker(model, optimiser, loop_config.get("resume_from"), config.init_from)
    resumed_from = state.epoch
    if rank == 0:
        print(
            f"porelab: checkpoint found: {ray.train.get_checkpoint() is not None}; starting after epoch {resumed_from}",
            flush=True,
        )

    train_iter = iter(ray.train.get_dataset_shard("train").iter_torch_batches(batch_size=config.batch_size))
    steps = max(1, config.stream.patches_per_epoch // (config.batch_size * world))
    val_shard = ray.train.get_dataset_shard("val")
    epochs = (
        EpochCheckpoints(model, loop_config["config"], loop_config["run_dir"], best_bytes, resumed_from)
        if rank == 0
        else None
    )

    def on_epoch_end(result: EpochResult, loop_state: LoopState, opt: torch.optim.Optimizer) -> None:
        metrics = {
            **result.metrics,
            "epoch": result.epoch,
            "resumed_from_epoch": resumed_from,
            "is_best": float(result.is_best),
            "stopped": float(result.stop),
        }
        checkpoint = None
        if epochs is not None:
            checkpoint = ray.train.Checkpoint.from_directory(str(epochs.save(result, loop_state, opt)))
        ray.train.report(metrics, checkpoint=checkpoint)
        if epochs is not None:
            epochs.drop_older(result.epoch)

    drill = config.fail_at_epoch if rank == 0 else -1

    def train_batches(epoch: int) -> Iterator[Batch]:
        return epoch_batches(train_iter, steps, lambda step: _fault_drill(loop_config["run_dir"], drill, epoch, step))

    try:
        run_training(
            model,
            task,
            train_batches,
            lambda epoch: val_shard.iter_torch_batches(batch_size=config.batch_size),
            config.loop,
            optimiser=optimiser,
            state=state,
            device=device,
            on_epoch_end=on_epoch_end,
            metric_tags={"model": config.model.name, "run": Path(loop_config["run_dir"]).name} if rank == 0 else None,
        )
    finally:
        if epochs is not None:
            epochs.close()


def prepared_model(config: Any, seed_offset: int = 0) -> torch.nn.Module:
    """The run's model, seeded and in the fast memory layout, with one torch thread per CPU the
    run holds (oversubscribed cores ran steps 10-20x slower here)."""
    torch.set_num_threads(max(1, int(config.scaling.cpus_per_worker)))
    torch.manual_seed(config.patches.seed + seed_offset)
    # layout before any DDP wrapping, which registers the parameters' strides
    return fast_layout(build_model(config.model), torch.device("cuda" if config.scaling.use_gpu else "cpu"))


def _print_epoch(result: EpochResult, max_epochs: int) -> None:
    m = result.metrics
    parts = [
        f"epoch {result.epoch}/{max_epochs}",
        f"train_loss {m.get('train_loss', float('nan')):.4f}",
        f"val_loss {m.get('val_loss', float('nan')):.4f}",
        f"val_dice {m.get('val_dice', float('nan')):.3f}",
        f"val_ap {m.get('val_ap', float('nan')):.3f}",
        f"{m.get('train_patches_per_s', 0):.1f} patches/s",
        f"{m.get('epoch_seconds', 0):.1f} s",
        "best" if result.is_best else "",
    ]
    print("  ".join(p for p in parts if p), flush=True)
