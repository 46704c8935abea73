"""One training run in the calling process, without Ray Train: the loop, the patch streams and
the epoch checkpoints of a one-worker Ray Train run, for runs whose single CPU worker a
TorchTrainer would only wrap.

A cross-validation trial on a laptop trains one small model on a fraction of a core. Started
through a `TorchTrainer`, each such trial also started a Train controller, a worker actor, a
placement group and their clean-up actors (measured here: 13-25 s of start-up and about 30 %
of the sweep's CPU, `bench/cv_overhead.py`). In-process the trial's own process runs
`run_training` on the same Ray Data stream (its patch tasks still run on Ray's pooled workers)
and writes the same `staging/epoch-N/{last,best}.pt` after every epoch, so a run that dies is
resumed from its last epoch when it is run again: by the user, or by Tune retrying the trial.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from porelab.train.config import TrainConfig
from porelab.train.loop import EpochResult, LoopState, run_training
from porelab.train.worker import EpochCheckpoints, epoch_batches, prepared_model, restore


def train_in_process(config: TrainConfig, datasets: dict[str, Any], run_dir: Path, resume: Path | None) -> Path:
    """Train `config` on `datasets` ("train": the patch stream, "val": the fixed validation
    patches) from `resume` (a staging directory of an interrupted run, or None); the directory
    of the last epoch's checkpoints."""
    model = prepared_model(config)
    task = config.build_task()
    optimiser = torch.optim.Adam(model.parameters(), lr=config.loop.lr)
    state, best_bytes = restore(model, optimiser, resume, config.init_from)
    print(f"porelab: training in this process; starting after epoch {state.epoch}", flush=True)
    stream = iter(datasets["train"].iter_torch_batches(batch_size=config.batch_size))
    steps = max(1, config.stream.patches_per_epoch // config.batch_size)
    epochs = EpochCheckpoints(model, config.to_dict(), str(run_dir), best_bytes, state.epoch)
    last = {"directory": resume}

    def on_epoch_end(result: EpochResult, loop_state: LoopState, optimiser: torch.optim.Optimizer) -> None:
        last["directory"] = epochs.save(result, loop_state, optimiser)
        epochs.drop_older(result.epoch)

    try:
        run_training(
            model,
            task,
            lambda epoch: epoch_batches(stream, steps),
            lambda epoch: datasets["val"].iter_torch_batches(batch_size=config.batch_size),
            config.loop,
            optimiser=optimiser,
            state=state,
            device=next(model.parameters()).device,
            on_epoch_end=on_epoch_end,
            metric_tags={"model": config.model.name, "run": run_dir.name},
        )
    finally:
        epochs.close()
    if last["directory"] is None:
        raise RuntimeError(f"{run_dir}: the run ended without a finished epoch")
    return Path(last["directory"])
