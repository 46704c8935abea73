"""`porelab serve` as a process manager runs it: readiness, then SIGTERM during a request drains
(the request completes, new uploads get 503 with Retry-After), and the process exits 0 with one
line per step and no stack trace."""

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from test_service import _free_port, call
from synthetic import in_air, sphere_scan

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def server(tmp_path):
    """`porelab serve` with the bundled detector, in a process of its own (its own Ray)."""
    port = _free_port()
    log = open(tmp_path / "serve.log", "w+")
    porelab = Path(sys.executable).parent / "porelab"
    process = subprocess.Popen(
        [
            str(porelab),
            "serve",
            "--port",
            str(port),
            "--results-dir",
            str(tmp_path / "results"),
            "--grace-period-s",
            "120",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(
            lambda: "serving" in (tmp_path / "serve.log").read_text() or process.poll() is not None,
            240,
            "the service to start",
        )
        assert process.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
        yield process, base, tmp_path / "serve.log"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(60)
        log.close()


def test_sigterm_drains_in_flight_requests_and_exits_cleanly(server):
    process, base, log = server
    status, body = call(base, "/v1/health/ready", token=None)
    assert status == 200 and body["status"] == "ready" and body["in_flight"] == 0

    scan = in_air(sphere_scan((112, 112, 112), [(40, 50, 60), (70, 60, 50)], 5, seed=7)[0], seed=7)
    answers = []
    upload = threading.Thread(
        target=lambda: answers.append(call(base, "/v1/models/porelab-am/segment", _npy(scan), token=None))
    )
    upload.start()
    _wait_for(
        lambda: call(base, "/v1/health/ready", token=None)[1].get("in_flight", 0) >= 1, 60, "the upload to be in flight"
    )
    process.send_signal(signal.SIGTERM)

    _wait_for(lambda: call(base, "/v1/health/ready", token=None)[0] == 503, 30, "readiness to turn 503")
    late = urllib.request.Request(base + "/v1/models/porelab-am/segment", data=_npy(scan[:32, :32, :32]), method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(late, timeout=60)
    assert refused.value.code == 503 and int(refused.value.headers["Retry-After"]) > 0
    assert "shutting down" in json.loads(refused.value.read())["error"]["message"]

    upload.join(300)
    assert answers and answers[0][0] == 200, answers
    assert answers[0][1]["pore_count"] >= 1
    assert process.wait(120) == 0
    output = log.read_text()
    for step in (
        "stopping: new uploads get 503",
        "request(s) in flight",
        "no request in flight",
        "Serve stopped",
        "Ray stopped",
    ):
        assert step in output, output[-3000:]
    for noise in ("Traceback", "Aborted", "SIGTERM received", "stack trace"):
        assert noise not in output, output[-3000:]
