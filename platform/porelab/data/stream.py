"""Patch streams: Ray Data pipelines (for Ray Train workers) and an in-process twin.

Rows are plain numbers: row r of the training stream is patch
`r % patches_per_epoch` of epoch `r // patches_per_epoch`, made by `PatchMaker` either in
Ray tasks (`readers=0`, the default) or in a pool of `readers` actors. Validation rows use
another seed and no augmentation, so validation patches are the same every epoch; they are
made once, in the calling process, and handed to Ray Data as in-memory blocks.

Why tasks by default: every actor is a new process that imports torch and Ray Train (about
5 CPU-seconds here), while tasks run in Ray's pooled worker processes, which stay warm from
one trial to the next. A sweep of many short trials on a laptop spent more CPU starting
processes than training. A large run whose readers live for hours can ask for actors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from porelab.data.patches import PatchConfig, PatchMaker
from porelab.errors import ConfigError
from porelab.data.sampling import pore_voxels
from porelab.data.scans import ScanRecord

if TYPE_CHECKING:
    import torch

_VALIDATION_SEED_OFFSET = 1_000_003


@dataclass(frozen=True)
class StreamConfig:
    """Sizes of the streams and of the Ray Data stage that makes them."""

    patches_per_epoch: int = 512
    val_patches: int = 64
    rows_per_task: int = 16
    readers: int = 0  # 0: Ray tasks on pooled workers; n > 0: a pool of n actors (volumes opened once each)
    # Readers reserve no CPU by default: Ray Data asks a whole CPU per task otherwise, and any
    # reservation can deadlock once Train workers and concurrent Tune trials hold the rest
    # (docs/field-notes.md); a reader is light next to a training step, so oversubscribing is the safe side.
    reader_cpus: float = 0.0
    # readers == 0: at most this many patch tasks of a stream at once. Tasks that reserve no CPU
    # are otherwise launched as fast as Ray Data can, each on a worker process Ray starts for it:
    # three in-process sweep trials starting together spawned about twenty processes, and their
    # first epoch took 160 s instead of 10. Two keep a training loop fed (a task makes its
    # `rows_per_task` patches in a few milliseconds each).
    tasks: int = 2

    def __post_init__(self) -> None:
        if self.tasks < 1:
            raise ConfigError(f"stream.tasks = {self.tasks}; expected at least 1 patch task at a time")


def scan_pores(scans: Sequence[ScanRecord], per_pore: bool = False) -> list[np.ndarray]:
    """Pore-voxel coordinates of each scan, for balanced sampling (computed once per run); with
    `per_pore`, one voxel of each pore (`SamplerConfig.pore_weighting == "pore"`)."""
    from porelab import volume

    return [pore_voxels(volume.read(s.label_path), seed=i, per_pore=per_pore) for i, s in enumerate(scans)]


def validation_config(config: PatchConfig) -> PatchConfig:
    from dataclasses import replace

    return replace(config, seed=config.seed + _VALIDATION_SEED_OFFSET)


_MAKERS: dict[tuple[Any, ...], PatchMaker] = {}


def _task_patches(
    batch: dict[str, np.ndarray], scans: list[ScanRecord], pores: list[np.ndarray], config: PatchConfig, train: bool
) -> dict[str, np.ndarray]:
    """Ray Data task function: the patches of a batch of rows, with one `PatchMaker` per
    pooled worker process and stream, so volumes stay open across tasks and trials."""
    key = (tuple(s.scan_path for s in scans), config, train)
    if key not in _MAKERS:
        _MAKERS.clear()  # one stream at a time per worker: keep its volumes, drop the last one's
        _MAKERS[key] = PatchMaker(scans, pores, config, train)
    return _MAKERS[key](batch)


def ray_patch_dataset(
    scans: Sequence[ScanRecord],
    pores: Sequence[np.ndarray],
    config: PatchConfig,
    rows: int,
    stream: StreamConfig,
    *,
    train: bool,
    first_row: int = 0,
) -> Any:
    """A Ray Dataset of patches `first_row` .. `rows` - 1 with columns image, label: (1, *patch)
    float32 each, in row order: a patch is made from its row number alone, so a run gets the
    same patches in the same order wherever its tasks run, and a resumed run (`first_row` = the
    rows its finished epochs used) the ones an uninterrupted run would have had."""
    import ray

    maker_config = config if train else validation_config(config)
    context = ray.data.DataContext.get_current()
    # per-operator bars from every reader drown the one line per epoch that the loop prints
    context.enable_progress_bars = False
    context.execution_options.preserve_order = True
    maker_args = (list(scans), list(pores), maker_config, train)
    ids = _local_rows({"id": np.arange(first_row, rows, dtype=np.int64)})
    if stream.readers == 0:
        return ids.map_batches(
            _task_patches,
            fn_args=maker_args,
            batch_size=stream.rows_per_task,
            num_cpus=stream.reader_cpus,
            compute=ray.data.TaskPoolStrategy(size=stream.tasks),
        )
    return ids.map_batches(
        PatchMaker,
        fn_constructor_args=maker_args,
        batch_size=stream.rows_per_task,
        num_cpus=stream.reader_cpus,
        compute=ray.data.ActorPoolStrategy(size=stream.readers),
    )


def in_memory_patch_dataset(
    scans: Sequence[ScanRecord], pores: Sequence[np.ndarray], config: PatchConfig, rows: int, *, train: bool
) -> Any:
    """The same patches as `ray_patch_dataset`, made here and handed to Ray Data from memory: for
    a small set read every epoch (validation), no reader process is worth starting."""
    maker = PatchMaker(scans, pores, config if train else validation_config(config), train)
    return _local_rows(maker({"id": np.arange(rows, dtype=np.int64)}))


def _local_rows(columns: dict[str, np.ndarray]) -> Any:
    """A Ray Dataset of these columns (one row per first-axis entry), built in this process.

    Not `ray.data.range` or `from_arrow`: both run a task that asks for a whole CPU (range's
    reads, from_arrow's metadata), which never starts while sweep trials and Train workers hold
    all but a fraction of the cores (three trials training in-process on two cores hung there);
    `from_items` makes its blocks and their metadata in this process.
    """
    import ray

    names = list(columns)
    return ray.data.from_items([dict(zip(names, values)) for values in zip(*(columns[n] for n in names))])


def local_batches(maker: PatchMaker, rows: range, batch_size: int) -> Iterator[dict[str, torch.Tensor]]:
    """The in-process twin of a Ray stream: batches of tensors for `rows`."""
    import torch  # here, not at the top: Ray Data's patch tasks import this module and need no torch

    for start in range(rows.start, rows.stop, batch_size):
        ids = np.arange(start, min(start + batch_size, rows.stop))
        batch = maker({"id": ids})
        yield {k: torch.from_numpy(v) for k, v in batch.items()}
