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


def _call(fn: Callable[..., np.ndarray], slab: np.ndarray, kwargs: dict[str, Any]) -> np.ndarray:
    result = fn(slab, **kwargs)
    record_slab(getattr(fn, "__name__", "slab"))
    return result


@functools.lru_cache(maxsize=1)
def _remote_call() -> Any:
    import ray

    # SPREAD: on a cluster the slabs of one scan share out over the nodes instead of filling the first
    return ray.remote(num_cpus=_TASK_CPUS, scheduling_strategy="SPREAD")(_call)


def _run_ray(
    fn: Callable[..., np.ndarray], slabs: list[np.ndarray], kwargs: dict[str, Any], workers: int
) -> list[np.ndarray]:
    import ray

    ensure_ray()  # RAY_ADDRESS's cluster, else an embedded local Ray
    remote = _remote_call()
    shared = ray.put(kwargs)
    pending: dict[Any, int] = {}
    results: list[np.ndarray | None] = [None] * len(slabs)
    for index, slab in enumerate(slabs):
        if len(pending) >= workers:
            _collect_one(pending, results)
        pending[remote.remote(fn, slab, shared)] = index
    while pending:
        _collect_one(pending, results)
    return results  # type: ignore[return-value]


def _collect_one(pending: dict[Any, int], results: list[np.ndarray | None]) -> None:
    import ray

    done, _ = ray.wait(list(pending), num_returns=1)
    results[pending.pop(done[0])] = ray.get(done[0])


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
    rows = stack.shape[split_axis]
    bounds = slab_bounds(rows, executor)
    slabs = [np.take(stack, np.arange(a, b), axis=split_axis) for a, b in bounds]
    if _uses_ray(rows, executor):
        parts = _run_ray(fn, slabs, kwargs, executor.workers)
    else:
        parts = [_call(fn, slab, kwargs) for slab in slabs]
    return np.concatenate(parts, axis=join_axis)
