"""What a sweep job shows on the console: where Ray's output went, one progress bar (trials done,
running, failed, elapsed, remaining) and one line per finished trial with its headline figures.

Ray's own output (every trial's prints, Ray Data's plans, Tune's status tables, the noise of
processes ending) stays out of the console: the job's local Ray keeps worker output in its
session's log folder, which the run directory links to as `ray-logs`, and Tune runs silent
(`verbose=0`); `--verbose` brings both back. On a terminal the bar is drawn on stderr (rich);
piped to a file, only the lines are written.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any, Callable

from ray import tune

LOG_LINK = "ray-logs"


def ray_log_dir() -> Path:
    """The log folder of the Ray session this process is connected to (on its head node)."""
    import ray

    context = ray.get_runtime_context()
    return Path(context.get_temp_dir()) / context.get_session_name() / "logs"


def link_ray_logs(run_dir: str | Path) -> Path:
    """`run_dir/ray-logs`, a link to this Ray session's log folder (replaced when it exists)."""
    link = Path(run_dir) / LOG_LINK
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(ray_log_dir(), target_is_directory=True)
    return link


_ANNOUNCED: set[str] = set()


def announce_logs(run_dir: str | Path, verbose: bool) -> None:
    """The job's first line: where Ray's output is (or that it is shown, with --verbose); once
    per run directory and process, however many of the job's stages call it."""
    key = str(Path(run_dir).resolve())
    if key in _ANNOUNCED:
        return
    _ANNOUNCED.add(key)
    if verbose:
        print(f"porelab: Ray's output is shown here; it is also in {ray_log_dir()}", flush=True)
        return
    link = link_ray_logs(run_dir)
    print(
        f"porelab: Ray's output goes to {link}/ (worker-*.out and .err per process); --verbose shows it here",
        flush=True,
    )


def _figures(result: dict[str, Any]) -> str:
    parts = []
    for key, label in (("val_dice", "Dice"), ("val_ap", "AP")):
        value = result.get(key)
        if isinstance(value, (int, float)):
            parts.append(f"{label} {value:.3f}")
    seconds = result.get("time_total_s")
    if isinstance(seconds, (int, float)):
        parts.append(f"{seconds:.0f} s")
    return ", ".join(parts)


class SweepConsole(tune.Callback):
    """Tune callback: the bar and the per-trial lines (see the module docstring).

    Args:
        total: trials in the sweep (the bar's length; trials restored as finished count as done).
        label: the trial's name from its config, e.g. `lambda c: f"{c['model']} fold {c['fold']}"`.
        write: where the lines go (default: print to stdout).
    """

    def __init__(
        self,
        total: int,
        label: Callable[[dict[str, Any]], str],
        write: Callable[[str], None] = lambda line: print(line, flush=True),
    ) -> None:
        self.total, self.label, self.write = total, label, write
        self.done = self.failed = self.running = 0
        self.start = time.monotonic()
        self._progress = self._task = None

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its run config (and so this callback) to restore the experiment later
        return {**self.__dict__, "_progress": None, "_task": None}

    def setup(self, **info: Any) -> None:
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("trials"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._task = self._progress.add_task("sweep", total=self.total, status=self._status())
            self._progress.start()

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.running += 1
        self._refresh()

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.running, self.done = max(0, self.running - 1), self.done + 1
        self._line(f"{self.label(trial.config)}: {_figures(trial.last_result or {})}")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.running, self.failed = max(0, self.running - 1), self.failed + 1
        self._line(f"{self.label(trial.config)}: FAILED (its error is in {trial.local_path or 'the run directory'})")

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _status(self) -> str:
        return f"{self.running} running, {self.failed} failed"

    def _line(self, text: str) -> None:
        finished = self.done + self.failed
        line = f"[{finished}/{self.total}] {text}"
        if self._progress is not None:
            self._progress.console.print(line, highlight=False)
        else:
            self.write(line)
        self._refresh()

    def _refresh(self) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=self.done + self.failed, status=self._status())


def sweep_run_config(
    name: str, storage: str | Path, max_failures: int, console: SweepConsole, verbose: bool
) -> tune.RunConfig:
    """The RunConfig of every sweep's Tuner: its folder, retries, and the console above (Tune's
    own status tables only with `verbose`)."""
    # trial reports carry lists (rows, curves) for the results table that TensorBoard cannot
    # plot: Tune's TensorBoard logger warned about them once per trial
    logging.getLogger("ray.tune.logger.tensorboardx").setLevel(logging.ERROR)
    return tune.RunConfig(
        name=name,
        storage_path=str(storage),
        failure_config=tune.FailureConfig(max_failures=max_failures),
        verbose=2 if verbose else 0,
        callbacks=[console],
    )
