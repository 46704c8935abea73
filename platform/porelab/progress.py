"""Progress bars for long loops (rich), shown on stderr only when a person is watching."""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")


def track(
    items: Iterable[T], *, total: int | None = None, description: str = "working", enabled: bool = True
) -> Iterator[T]:
    """Yield `items`, drawing a progress bar on stderr when enabled and stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield from items
        return
    with _progress() as progress:
        yield from progress.track(items, total=total, description=description)


@contextlib.contextmanager
def counter(
    total: int, *, done: int = 0, description: str = "working", enabled: bool = True
) -> Iterator[Callable[[], None]]:
    """A progress bar for work that reports itself through callbacks: yields `advance()`, to
    call once per finished unit of `total` (`done` finished before); drawn as `track` draws."""
    if not enabled or not sys.stderr.isatty():
        yield lambda: None
        return
    with _progress() as progress:
        task = progress.add_task(description, total=total, completed=done)
        yield lambda: progress.advance(task)


def _progress() -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=Console(stderr=True), transient=True)
