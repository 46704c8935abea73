"""Fan slice-wise work out over slabs: in-process, or as Ray tasks.

ASTRA's CPU code runs one thread per call and releases the GIL, so slabs of slices scale
over processes. The in-process path serves tests and small inputs; the Ray path serves the
jobs and big inputs. Tasks ask for half a CPU (a whole one can deadlock next to other
fractional holders, see docs/field-notes.md); at most `workers` are in flight at once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from porelab.errors import ConfigError
from porelab.metrics import record_slab
from porelab.runtime import ensure_ray

EXECUTORS = ("local", "ray", "auto")
#: Inputs with more slices than this go to Ray under `kind="auto"`.
AUTO_RAY_ROWS = 256
_TASK_CPUS = 0.5


@dataclass(frozen=True)
class Executor:
    """Where slabs run. `slab_rows=None` splits the rows evenly into 2 x workers slabs."""

    kind: str = "local"
    workers: int = 2
    slab_rows: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in EXECUTORS:
            raise ConfigError(f"Executor.kind={self.kind!r}: expected one of {list(EXECUTORS)}")
        if self.workers < 1:
            raise ConfigError(f"Executor.workers={self.workers}: expected >= 1")
        if self.slab_rows is not None and self.slab_rows < 1:
            raise ConfigError(f"Executor.slab_rows={self.slab_rows}: expected >= 1 or None")


def slab_bounds(rows: int, executor: Executor) -> list[tuple[int, int]]:
    """(start, stop) row ranges covering `rows`."""
    size = executor.slab_rows or max(1, -(-rows // (2 * executor.workers)))
    return [(r, min(r + size, rows)) for r in range(0, rows, size)]


def _uses_ray(rows: int, executor: Executor) -> bool:
    if executor.kind != "auto":
        return executor.kind == "ray"
    import ray

    return ray.is_initialized() or rows > AUTO_RAY_ROWS


def _call(fn: Callable[..., Any], slab: Any, kwargs: dict[str, Any]) -> Any:
    result = fn(slab, **kwargs)
    record_slab(getattr(fn, "__name__", "slab"))
    return result


@functools.lru_cache(maxsize=1)
def _remote_call() -> Any:
    import ray

    # SPREAD: on a cluster the slabs of one scan share out over the nodes instead of filling the first
    return ray.remote(num_cpus=_TASK_CPUS, scheduling_strategy="SPREAD")(_call)


def _run_ray(
    fn: Callable[..., Any],
    bounds: list[tuple[int, int]],
    read: Callable[[int, int], Any],
    write: Callable[[int, int, Any], None],
    kwargs: dict[str, Any],
    workers: int,
    task_memory: int | None,
) -> None:
    import ray

    ensure_ray()  # RAY_ADDRESS's cluster, else an embedded local Ray
    remote = _remote_call() if task_memory is None else _remote_call().options(memory=task_memory)
    shared = ray.put(kwargs)
    pending: dict[Any, tuple[int, int]] = {}
    for a, b in bounds:
        if len(pending) >= workers:
            _collect_one(pending, write)
        pending[remote.remote(fn, read(a, b), shared)] = (a, b)
    while pending:
        _collect_one(pending, write)


def _collect_one(pending: dict[Any, tuple[int, int]], write: Callable[[int, int, Any], None]) -> None:
    import ray

    done, _ = ray.wait(list(pending), num_returns=1)
    a, b = pending.pop(done[0])
    write(a, b, ray.get(done[0]))


def stream_slabs(
    fn: Callable[..., Any],
    bounds: list[tuple[int, int]],
    read: Callable[[int, int], Any],
    write: Callable[[int, int, Any], None],
    *,
    executor: Executor = Executor(),
    task_memory: int | None = None,
    **kwargs: Any,
) -> None:
    """`write(a, b, fn(read(a, b), **kwargs))` for every row range (a, b) of `bounds`.

    At most `executor.workers` slabs are read and in flight at once, so the caller holds no
    more than that many slabs and results: the way to process a scan bigger than memory from
    and to memory-mapped files. Results are written in completion order. `fn` must be a
    module-level function of the package so Ray workers can import it. `task_memory` (bytes)
    is what each Ray task reserves, so a node runs no more slabs than its memory holds.
    """
    rows = bounds[-1][1] if bounds else 0
    if _uses_ray(rows, executor):
        _run_ray(fn, bounds, read, write, kwargs, executor.workers, task_memory)
        return
    for a, b in bounds:
        write(a, b, _call(fn, read(a, b), kwargs))


def map_slabs(
    fn: Callable[..., np.ndarray],
    stack: np.ndarray,
    *,
    split_axis: int,
    join_axis: int,
    executor: Executor = Executor(),
    **kwargs: Any,
) -> np.ndarray:
    """Apply `fn(slab, **kwargs)` to row slabs of `stack` (cut along `split_axis`), join the results.

    `fn` must be a module-level function of the package so Ray workers can import it.
    """
    bounds = slab_bounds(stack.shape[split_axis], executor)
    parts: dict[int, np.ndarray] = {}

    def read(a: int, b: int) -> np.ndarray:
        return np.take(stack, np.arange(a, b), axis=split_axis)

    def write(a: int, b: int, part: np.ndarray) -> None:
        parts[a] = part

    stream_slabs(fn, bounds, read, write, executor=executor, **kwargs)
    return np.concatenate([parts[a] for a, _ in bounds], axis=join_axis)
