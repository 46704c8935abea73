"""`porelab dashboard`: TensorBoard on a run directory, the "Tune dashboard" of a sweep.

The logdir is the run directory itself, so Tune's per-trial events (`tune/<trial>/`) and each
training run's epoch curves (`trials/<model>-fold<k>/tensorboard/`, or `tensorboard/` of a
single `porelab train` run) appear side by side, named by model and fold.

TensorBoard runs as a child process (`python -m tensorboard.main`) rather than in-process
through `tensorboard.program`: it sets up absl flags, logging and its plugins' imports
globally, which would leak into porelab's process, and a child is ended cleanly by Ctrl-C
(the terminal signals the whole process group) or, on SIGTERM, by us.
"""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Callable, Iterator

from porelab.errors import ConfigError

EVENT_GLOB = "events.out.tfevents*"
_STOP_SECONDS = 10.0
_STDERR_FD = 2  # the process's, even when sys.stderr is replaced (pytest capture)


@dataclass(frozen=True)
class DashboardConfig:
    run_dir: Path
    host: str = "127.0.0.1"  # loopback: TensorBoard has no authentication
    port: int = 6006


def event_files(run_dir: Path) -> Iterator[Path]:
    return run_dir.rglob(EVENT_GLOB)


def check_run_dir(run_dir: Path) -> None:
    """Raise ConfigError unless `run_dir` is a directory holding at least one event file."""
    if not run_dir.is_dir():
        kind = "not a directory" if run_dir.exists() else "no such directory"
        raise ConfigError(
            f"{run_dir}: {kind}; expected a run directory of `porelab train` or of a sweep (e.g. runs/cv-demo)"
        )
    if next(event_files(run_dir), None) is None:
        raise ConfigError(
            f"{run_dir}: no TensorBoard event files ({EVENT_GLOB}) anywhere under it; expected "
            "a training or sweep run directory with tensorboard/, trials/*/tensorboard/ or tune/*/ "
            "(they appear after the first epoch)"
        )


def check_port_free(host: str, port: int) -> None:
    """Fail with a clear message now rather than with TensorBoard's traceback later."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.create_server((host, port), family=family):
            pass
    except OSError as err:
        raise ConfigError(f"cannot listen on {host}:{port} ({err.strerror}); pick another with --port") from None


def dashboard_url(config: DashboardConfig) -> str:
    host = f"[{config.host}]" if ":" in config.host else config.host
    return f"http://{host}:{config.port}/"


def tensorboard_command(config: DashboardConfig) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tensorboard.main",
        "--logdir",
        str(config.run_dir),
        "--host",
        config.host,
        "--port",
        str(config.port),
    ]


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C; by default it would end porelab at once and orphan TensorBoard."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_dashboard(config: DashboardConfig, on_start: Callable[[str], None] = lambda url: None) -> int:
    """Run TensorBoard on `config.run_dir` until it exits, Ctrl-C or SIGTERM; its exit code.

    Ctrl-C and SIGTERM raise KeyboardInterrupt here after TensorBoard is stopped.
    """
    check_run_dir(config.run_dir)
    if importlib.util.find_spec("tensorboard") is None:
        raise ConfigError(
            "the tensorboard package is not installed; expected it in this environment "
            "(pip install 'tensorboard>=2.14')"
        )
    check_port_free(config.host, config.port)
    with _sigterm_as_interrupt():
        # TensorBoard's messages go to stderr, keeping porelab's stdout for the URL or --json
        process = subprocess.Popen(tensorboard_command(config), stdin=subprocess.DEVNULL, stdout=_STDERR_FD)
        try:
            on_start(dashboard_url(config))
            return process.wait()
        finally:
            _stop(process)


def dashboards_folder() -> Path:
    """porelab's Grafana dashboards and Prometheus config: `dashboards/` of the source checkout
    (beside `platform/`; the installed package does not carry them)."""
    return Path(__file__).resolve().parents[2] / "dashboards"


def grafana_commands(folder: Path | None = None) -> list[str]:
    """What to run to watch porelab and Ray in Prometheus and Grafana (dashboards/README.md)."""
    folder = folder or dashboards_folder()
    return [
        "ray start --head --metrics-export-port=8080   # every node of the cluster: --metrics-export-port",
        f"prometheus --config.file={folder / 'prometheus.yml'}   # reads Ray's node list",
        f"GF_PATHS_PROVISIONING={folder / 'provisioning'} grafana-server   # set the dashboards provider's "
        f"path to {folder}",
        "# Ray's own dashboards: /tmp/ray/session_latest/metrics/grafana/dashboards",
    ]
