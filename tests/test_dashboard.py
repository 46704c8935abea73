"""`porelab dashboard`: TensorBoard serves a run directory's curves; clear errors without events."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from porelab import cli
from porelab.train.tensorboard import open_writer, write_epoch

RUN = "trials/unet-fold0/tensorboard"
STARTUP_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def sweep_dir(tmp_path):
    """A sweep run directory with one trial's epoch curves, as the Ray Train worker writes them."""
    writer = open_writer(tmp_path / "trials" / "unet-fold0")
    for epoch in (1, 2):
        write_epoch(writer, epoch, {"train_loss": 1.0 / epoch, "val_ap": 0.3 * epoch})
    writer.close()
    return tmp_path


def wait_for_tags(process: subprocess.Popen, port: int) -> dict:
    """The scalar tags per run once TensorBoard lists RUN; fails after STARTUP_SECONDS."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "porelab dashboard exited early"
        try:
            if RUN in get_json(f"http://127.0.0.1:{port}/data/runs"):
                return get_json(f"http://127.0.0.1:{port}/data/plugin/scalars/tags")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet
        time.sleep(0.5)
    pytest.fail(f"TensorBoard did not list {RUN} within {STARTUP_SECONDS:.0f} s")


def test_dashboard_serves_the_trial_curves_and_stops_tensorboard(sweep_dir, tmp_path):
    port = free_port()
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        # a session of its own, so the finally below can end TensorBoard too whatever happens
        process = subprocess.Popen(
            [sys.executable, "-m", "porelab.cli", "dashboard", str(sweep_dir), "--port", str(port)],
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            tags = wait_for_tags(process, port)
            assert {"train/loss", "val/ap"} <= set(tags[RUN])
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 130
            deadline = time.monotonic() + 10
            while port_open(port) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not port_open(port), "TensorBoard outlived porelab dashboard"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # no-op when both already ended
            process.wait()
    assert f"http://127.0.0.1:{port}/" in out.read_text()


def test_a_directory_without_events_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "trials" / "unet-fold0").mkdir(parents=True)
    assert cli.main(["dashboard", str(tmp_path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("porelab dashboard: error:")
    assert str(tmp_path) in lines[0] and "events.out.tfevents" in lines[0]


def test_a_missing_directory_is_a_one_line_error(tmp_path, capsys):
    assert cli.main(["dashboard", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "no such directory" in err and len(err.strip().splitlines()) == 1


def test_a_busy_port_is_a_one_line_error(sweep_dir, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["dashboard", str(sweep_dir), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and "--port" in err


def test_grafana_commands_name_the_dashboards_and_prometheus_config():
    from porelab.dashboard import dashboards_folder, grafana_commands

    folder = dashboards_folder()
    assert (folder / "prometheus.yml").is_file() and (folder / "provisioning").is_dir()
    text = "\n".join(grafana_commands())
    assert f"--config.file={folder / 'prometheus.yml'}" in text and "--metrics-export-port" in text
