"""dashboards/: the structure Grafana needs of every dashboard, every metric a panel asks for
recorded by porelab, and, where Debian's `prometheus` is installed, every panel's query
answered by a real Prometheus scraping the test session's Ray after a tiny training, a
simulation on Ray tasks and requests to the service."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import yaml

from porelab import metrics as porelab_metrics

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((REPO / "dashboards").glob("*.json"))
DISCOVERY = Path("/tmp/ray/prom_metrics_service_discovery.json")
#: Panels whose series appear only once something fails; a healthy run leaves them empty.
ONLY_ON_FAILURE = ("ray_porelab_request_errors_total", "ray_serve_num_http_error_requests_total", 'status="failed"')


def _panels():
    return [(path.name, panel) for path in DASHBOARDS for panel in json.loads(path.read_text())["panels"]]


def _exprs():
    return [(name, panel["title"], target["expr"]) for name, panel in _panels() for target in panel["targets"]]


def test_every_dashboard_has_the_structure_grafana_needs():
    assert {p.name for p in DASHBOARDS} == {
        "porelab-sweeps.json",
        "porelab-training.json",
        "porelab-service.json",
        "porelab-simulation.json",
    }
    uids = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        uids.append(board["uid"])
        assert "__inputs" not in board, path.name
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), path.name
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
            assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"]), panel["title"]
            assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"]), panel["title"]
    assert len(uids) == len(set(uids))


def test_every_porelab_metric_a_panel_asks_for_is_recorded():
    source = Path(porelab_metrics.__file__).read_text()
    recorded = set(re.findall(r'"(porelab_[a-z_]+)"', source))
    asked = {m for _, _, expr in _exprs() for m in re.findall(r"ray_(porelab_[a-z_]+)", expr)}
    base = {re.sub(r"_(total|bucket|sum|count)$", "", m) for m in asked}
    assert base <= recorded, base - recorded


def test_the_prometheus_config_discovers_rays_nodes():
    config = yaml.safe_load((REPO / "dashboards" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["file_sd_configs"][0]["files"] == [str(DISCOVERY)]
    for name in ("datasources/porelab.yml", "dashboards/porelab.yml"):
        assert yaml.safe_load((REPO / "dashboards" / "provisioning" / name).read_text())["apiVersion"] == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _query(base: str, expr: str) -> list:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())["data"]["result"]


@pytest.fixture
def prometheus(tmp_path, ray_session):
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("the prometheus binary is not installed (apt-get install prometheus; .ci/run installs it)")
    deadline = time.time() + 30
    while not DISCOVERY.is_file() and time.time() < deadline:
        time.sleep(0.5)
    if not DISCOVERY.is_file():
        pytest.skip(f"{DISCOVERY} not written: this Ray has no dashboard to write Prometheus' node list")
    config = yaml.safe_load((REPO / "dashboards" / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = _free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)


def _train_briefly(root: Path) -> None:
    """Two epochs of the real loop on sphere pores, its numbers sent as a CV trial's would be."""
    import torch
    from dataclasses import replace

    from porelab.data import (
        AugmentConfig,
        PatchConfig,
        PatchMaker,
        SamplerConfig,
        load_scans,
        local_batches,
        scan_pores,
    )
    from porelab.models import build_model
    from porelab.train import LoopConfig, SegmentationTask, run_training
    from porelab.train.config import profile
    from synthetic import sphere_scan, write_dataset

    scan, labels = sphere_scan((24, 24, 24), [(8, 8, 8), (16, 15, 14)], 3, seed=0)
    write_dataset(root / "ds", [("scan-0", "good", scan, labels)])
    records = load_scans(root / "ds")
    patches = PatchConfig(patch=(16, 16, 16), sampler=SamplerConfig("balanced", 0.5), augment=AugmentConfig.off())
    maker = PatchMaker(records, scan_pores(records), patches)
    torch.manual_seed(0)
    config = profile("demo")
    model = build_model(replace(config.model, channels=(4, 8)))
    run_training(
        model,
        SegmentationTask(loss="dice"),
        lambda e: local_batches(maker, range(e * 8, e * 8 + 8), 4),
        lambda e: local_batches(maker, range(100, 108), 4),
        LoopConfig(max_epochs=2, lr=3e-3),
        metric_tags={"model": "unet", "run": "unet-fold0"},
    )
    porelab_metrics.record_trial("cv", "unet", "finished")  # what run_trial records after its evaluation


def _simulate_on_ray() -> None:
    from porelab.simulate.scanner import Executor, reconstruct, simulate
    from synthetic import disc_phantom, plain_parallel_scan

    reconstruct(simulate(disc_phantom(), plain_parallel_scan()), executor=Executor(kind="ray", workers=2, slab_rows=1))


def _ask_the_service(root: Path) -> None:
    from porelab.bundled import bundled_root
    from porelab.serve import ServeConfig, start
    from synthetic import in_air, sphere_scan

    from ray import serve

    port = _free_port()
    urls = start(ServeConfig(registry=bundled_root(), port=port, results_dir=root / "results"))
    try:
        scan = in_air(sphere_scan((32, 32, 32), [(12, 14, 16), (20, 18, 14)], 3, seed=3)[0], seed=3)
        body = root / "scan.npy"
        np.save(body, scan.astype(np.float32))
        for path, data in (
            ("/v1/models/porelab-am/segment", body.read_bytes()),
            ("/v1/models/porelab-am/segment", b"not a volume"),
        ):
            request = urllib.request.Request(
                urls["url"] + path, data=data, method="POST", headers={"Content-Type": "application/octet-stream"}
            )
            try:
                urllib.request.urlopen(request, timeout=300).read()
            except urllib.error.HTTPError:
                pass  # the second is meant to fail: a 4xx Serve counts
    finally:
        serve.shutdown()  # as the service tests do: the next Serve start binds its own port


@pytest.mark.ray
@pytest.mark.slow
def test_every_panel_query_returns_data_from_a_real_prometheus(prometheus, tmp_path):
    _train_briefly(tmp_path)
    _simulate_on_ray()
    _ask_the_service(tmp_path)
    pending = {
        (name, title, expr) for name, title, expr in _exprs() if not any(marker in expr for marker in ONLY_ON_FAILURE)
    }
    deadline = time.time() + 90  # Ray's workers report every few seconds; Prometheus scrapes every second
    while pending and time.time() < deadline:
        pending = {item for item in pending if not _query(prometheus, item[2])}
        if pending:
            time.sleep(2)
    assert not pending, sorted(pending)
    # the series come from this test's work, not from an earlier one's leftovers
    assert _query(prometheus, 'ray_porelab_validation_ap{model="unet", run="unet-fold0"}')
    served = _query(prometheus, 'sum(ray_porelab_requests_total{model="porelab-am"})')
    assert served and float(served[0]["value"][1]) >= 1
    slabs = _query(prometheus, "sum(ray_porelab_simulation_slabs_total)")
    assert slabs and float(slabs[0]["value"][1]) >= 4  # the reconstruction's 4 one-slice slabs at least
