"""`ray start --head` then `ray job submit --working-dir . -- python jobs/cv.py ...` against that head.

The README's cluster recipe, run for real: a separate local head (its own ports, temp dir and no
token auth, so it cannot meet the session's embedded Ray), the repository root uploaded as the
job's working directory (Ray honours .gitignore: .venv, data/ and runs/ stay behind), and a tiny
cross-validation job whose outputs are checked. The head is ended by killing its process group,
never with `ray stop` (that ends every Ray process on the machine, the test session's included).
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from synthetic import tiny_cv_dataset

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TINY = (
    "loop.max_epochs=2",
    "stream.patches_per_epoch=16",
    "stream.val_patches=8",
    "patches.patch=[16,16,16]",
    "model.channels=[4,8]",
)
_SIGTERM, _PR_SET_PDEATHSIG = int(signal.SIGTERM), 1
try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:
    _LIBC = None
_HEAD_PORTS = (
    "port",
    "dashboard-port",
    "ray-client-server-port",
    "node-manager-port",
    "object-manager-port",
    "dashboard-agent-listen-port",
    "dashboard-agent-grpc-port",
    "runtime-env-agent-port",
    "metrics-export-port",
)


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _isolated_env() -> dict[str, str]:
    """No RAY_* from this session (RAY_ADDRESS, the token mode ray.init sets), the venv first on PATH so
    the job's `python` is the one with porelab, token auth off on both the head and the CLI (whether
    `ray start` turns it on depends on ~/.ray/auth_token existing, which an earlier ray.init creates)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(
        RAY_AUTH_MODE="disabled",
        RAY_USAGE_STATS_ENABLED="0",
        OMP_NUM_THREADS="1",
        RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S="0",  # SIGTERM: stop now, not after a 30 s drain
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def _die_with_parent() -> None:
    """Runs in the head's process before exec: its own process group, and SIGTERM when the test process
    dies (so a pytest killed by a timeout leaves no head behind). Nothing here imports or allocates much:
    the test process has threads (the session's Ray) when it forks."""
    os.setsid()
    if _LIBC is not None and sys.platform.startswith("linux"):
        _LIBC.prctl(_PR_SET_PDEATHSIG, _SIGTERM)


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if text.encode() in (proc / "cmdline").read_bytes() and int(proc.name) != os.getpid():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _stop_head(head: subprocess.Popen, temp_dir: str) -> list[int]:
    """SIGTERM the head's process group (`ray start --block` then stops what it started), SIGKILL what is
    left of the group and any process still naming the head's temp dir (a worker or agent that left the
    group); returns the pids that survived all that (should be none)."""
    try:
        os.killpg(head.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        head.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(head.pid, signal.SIGKILL)  # the dashboard and runtime-env agents linger ~10 s otherwise
    except ProcessLookupError:
        pass
    head.wait()
    deadline = time.monotonic() + 15
    while (left := _processes_mentioning(temp_dir)) and time.monotonic() < deadline:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.5)
    return _processes_mentioning(temp_dir)


def _wait_for_job_api(url: str, head: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if head.poll() is not None:
            pytest.fail(f"`ray start --head` exited with {head.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/jobs/", timeout=2) as reply:
                if reply.status == 200:
                    return
        except urllib.error.HTTPError as err:
            if err.code in (401, 403):
                pytest.fail(f"the head at {url} asks for a token ({err.code}): started without RAY_AUTH_MODE=disabled?")
        except OSError:
            pass
        time.sleep(1)
    pytest.fail(f"the head's job API at {url} did not answer within {timeout:.0f} s:\n{log.read_text()[-4000:]}")


@pytest.mark.ray
@pytest.mark.slow
def test_ray_job_submit_runs_the_cv_job_on_a_local_head(tmp_path):
    ray_cli = BIN / "ray"
    if not ray_cli.exists():
        pytest.skip(f"no `ray` command beside {sys.executable} (install ray[default])")
    data = tiny_cv_dataset(tmp_path / "ds")
    out, registry = tmp_path / "run", tmp_path / "registry"
    env = _isolated_env()
    ports = dict(zip(_HEAD_PORTS, _free_ports(len(_HEAD_PORTS))))
    # Ray's socket paths must stay under ~107 characters: a short temp dir, not tmp_path.
    temp_dir = tempfile.mkdtemp(prefix="rj", dir="/tmp" if os.path.isdir("/tmp") else None)
    head_log = tmp_path / "head.log"
    command = [
        str(ray_cli),
        "start",
        "--head",
        "--block",
        "--dashboard-host=127.0.0.1",
        "--include-dashboard=true",
        "--num-cpus=2",
        f"--object-store-memory={200 * 1024**2}",
        f"--temp-dir={temp_dir}",
        "--disable-usage-stats",
        *(f"--{name}={port}" for name, port in ports.items()),
    ]
    with open(head_log, "wb") as log:
        head = subprocess.Popen(
            command,
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
    address = f"http://127.0.0.1:{ports['dashboard-port']}"
    job_id = "porelab-cv-submit-test"
    try:
        _wait_for_job_api(address, head, head_log)
        submit = [
            str(ray_cli),
            "job",
            "submit",
            "--address",
            address,
            "--submission-id",
            job_id,
            "--working-dir",
            ".",
            "--",
            "python",
            "jobs/cv.py",
            "--data",
            str(data),
            "--out",
            str(out),
            "--registry",
            str(registry),
            "--profile",
            "demo",
            "--models",
            "unet",
            "--folds",
            "2",
            *(a for o in TINY for a in ("--set", o)),
        ]
        try:
            done = subprocess.run(submit, env=env, cwd=REPO, capture_output=True, text=True, timeout=360)
        except subprocess.TimeoutExpired:
            subprocess.run(
                [str(ray_cli), "job", "stop", "--address", address, job_id], env=env, capture_output=True, timeout=60
            )
            pytest.fail("the submitted job did not finish within 360 s")
        assert done.returncode == 0, f"ray job submit failed:\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"

        with urllib.request.urlopen(f"{address}/api/jobs/{job_id}", timeout=30) as reply:
            info = json.load(reply)
        assert info["status"] == "SUCCEEDED", info
        logs = subprocess.run(
            [str(ray_cli), "job", "logs", "--address", address, job_id],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        report = out / "report.html"
        assert f"report: {report}" in logs, logs[-4000:]  # the job's summary lines end with the report path
        assert "Connecting to existing Ray cluster" in logs  # the job joined this head, not a Ray of its own

        summary = json.loads((out / "summary.json").read_text())
        assert summary["findings"] and all(line in logs for line in summary["findings"])
        assert summary["selected"]["model"] == "unet"
        results = pd.read_parquet(out / "results.parquet")
        assert set(results.model) == {"unet", "otsu"} and sorted(results.fold.unique()) == [0, 1]
        assert report.read_text().count("data:image/png;base64") >= 1
        assert {p.name for p in (registry / "unet").iterdir()} >= {"model.pt", "config.json", "metrics.json"}
    finally:
        left = _stop_head(head, temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)
    assert not left, f"processes of the test's Ray head survived: {left}"
