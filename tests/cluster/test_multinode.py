"""A real multi-node Ray on this machine (`ray.cluster_utils.Cluster`: a head without CPUs and
two worker nodes with one CPU and one `trainer` resource each, all on the shared disk): the
cross-validation's trials, a simulation's slabs and `predict`'s actors land on both worker nodes
and give the one-node results; a worker node removed mid-sweep costs its trial one retry and the
sweep still finishes with the one-node results.

The cluster replaces the session's Ray for this module and hands it back afterwards.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from conftest import start_session_ray
from synthetic import tiny_cv_dataset

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.multinode]

TINY = (
    "loop.max_epochs=4",
    "stream.patches_per_epoch=16",
    "stream.val_patches=8",
    "patches.patch=[16,16,16]",
    "model.channels=[4,8]",
)
MB = 2**20
#: the trial's own process, as Ray names the actor Tune runs a function trainable in
TRIAL_ACTOR = "ImplicitFunc"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cv(data: Path, out: Path, **fields):
    from porelab.sweep import CVConfig, run_cv

    config = CVConfig(
        data=str(data),
        out=str(out / "run"),
        registry=str(out / "registry"),
        models=("unet",),
        folds=2,
        overrides=TINY,
        max_concurrent=2,
        **fields,
    )
    run_cv(config)
    return pd.read_parquet(out / "run" / "results.parquet")


def _model_rows(results: pd.DataFrame) -> pd.DataFrame:
    rows = results[results.model == "unet"].sort_values(["fold", "scan", "metric"])
    return rows[["fold", "scan", "metric", "value"]].reset_index(drop=True)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return tiny_cv_dataset(tmp_path_factory.mktemp("multinode") / "ds", selection=True)


@pytest.fixture(scope="module")
def one_node_cv(dataset, tmp_path_factory, ray_session) -> pd.DataFrame:
    """The 2-trial cross-validation on the session's one-node Ray."""
    return _model_rows(_cv(dataset, tmp_path_factory.mktemp("one-node")))


@pytest.fixture(scope="module")
def three_nodes(one_node_cv):
    """Head (no CPUs, the dashboard for the state API) + two worker nodes; the session's Ray is
    shut down while it lives and started again afterwards."""
    import ray
    from ray.cluster_utils import Cluster

    ray.shutdown()
    port = _free_port()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "include_dashboard": True,
            "dashboard_host": "127.0.0.1",
            "dashboard_port": port,
            "object_store_memory": 100 * MB,
        },
    )
    workers = [cluster.add_node(num_cpus=1, resources={"trainer": 1}, object_store_memory=100 * MB) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
    try:
        # the state API is asked at the cluster's own dashboard: without an address it asks
        # whichever Ray on the machine started last (a job an earlier test killed can leave one)
        yield SimpleNamespace(cluster=cluster, workers=workers, dashboard=f"http://127.0.0.1:{port}")
    finally:
        ray.shutdown()
        cluster.shutdown()
        start_session_ray()


def _worker_ids(workers) -> set[str]:
    return {node.node_id for node in workers}


def _actors(nodes, class_name: str):
    """Every actor of `class_name`, alive or dead (Ray qualifies the trial's class name by where
    Tune defined it, e.g. `wrap_function.<locals>.ImplicitFunc`, in some runs and not in others)."""
    from ray.util.state import list_actors

    return [
        a
        for a in list_actors(address=nodes.dashboard, detail=True, limit=10000)
        if a.class_name.rsplit(".", 1)[-1] == class_name
    ]


def test_cv_trials_run_on_both_nodes_with_the_one_node_results(three_nodes, dataset, one_node_cv, tmp_path):
    workers = three_nodes.workers
    before = {a.actor_id for a in _actors(three_nodes, TRIAL_ACTOR)}
    rows = _model_rows(_cv(dataset, tmp_path, trial_resources={"trainer": 1.0}))

    trials = [a for a in _actors(three_nodes, TRIAL_ACTOR) if a.actor_id not in before]
    assert len(trials) == 2
    assert {a.node_id for a in trials} == _worker_ids(workers)  # one `trainer` per node: one trial each
    pd.testing.assert_frame_equal(rows, one_node_cv, check_exact=False, rtol=1e-5, atol=1e-6)


def test_simulation_slabs_run_on_both_nodes_with_the_in_process_result(three_nodes):
    from ray.util.state import list_tasks

    from porelab.simulate.scanner import Executor, reconstruct, simulate
    from synthetic import disc_phantom, plain_parallel_scan

    workers = three_nodes.workers
    projections = simulate(disc_phantom(depth=8), plain_parallel_scan())
    local = np.asarray(reconstruct(projections, executor=Executor(kind="local")).data)
    remote = np.asarray(reconstruct(projections, executor=Executor(kind="ray", workers=4, slab_rows=1)).data)

    np.testing.assert_allclose(remote, local, atol=1e-6)
    slab_tasks = list_tasks(
        address=three_nodes.dashboard, filters=[("func_or_class_name", "=", "_call")], detail=True, limit=1000
    )
    assert {t.node_id for t in slab_tasks if t.node_id} == _worker_ids(workers)


def test_predict_actors_run_on_both_nodes_with_the_in_process_result(three_nodes, tmp_path):
    from porelab import volume
    from porelab.bundled import bundled_root
    from porelab.infer.predict import PredictConfig, predict
    from synthetic import in_air, sphere_scan

    workers = three_nodes.workers
    before = {a.actor_id for a in _actors(three_nodes, "_SlabWorker")}
    scan = in_air(sphere_scan((48, 40, 40), [(14, 20, 18), (34, 16, 22)], 3, seed=3)[0], seed=3)
    path = volume.write(scan, tmp_path / "scan.npy")
    model = bundled_root() / "porelab-am" / "model.pt"
    alone = predict(model, path, tmp_path / "alone", PredictConfig())
    spread = predict(model, path, tmp_path / "spread", PredictConfig(actors=2))

    actors = [a for a in _actors(three_nodes, "_SlabWorker") if a.actor_id not in before]
    assert {a.node_id for a in actors} == _worker_ids(workers)
    np.testing.assert_array_equal(
        volume.read(tmp_path / "spread" / "mask.tif").to_numpy(),
        volume.read(tmp_path / "alone" / "mask.tif").to_numpy(),
    )
    assert spread["porosity_percent"] == pytest.approx(alone["porosity_percent"], abs=1e-9)


def test_a_node_lost_mid_sweep_costs_its_trial_one_retry(three_nodes, dataset, one_node_cv, tmp_path):
    """Last in the module: it removes a worker node."""
    head_cluster, workers = three_nodes.cluster, three_nodes.workers
    doomed = workers[1]
    before = {a.actor_id for a in _actors(three_nodes, TRIAL_ACTOR)}
    removed = threading.Event()

    def remove_once_training() -> None:
        """Remove the node once its trial runs there and a first epoch is done: both trials
        start together, so the node's trial is then mid-training (TINY trains 4 epochs)."""
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            alive = [
                a
                for a in _actors(three_nodes, TRIAL_ACTOR)
                if a.actor_id not in before and a.state == "ALIVE" and a.node_id == doomed.node_id
            ]
            if alive and list(tmp_path.glob("run/trials/*/staging/epoch-*")):
                head_cluster.remove_node(doomed)
                removed.set()
                return
            time.sleep(0.2)

    remover = threading.Thread(target=remove_once_training, daemon=True)
    remover.start()
    rows = _model_rows(_cv(dataset, tmp_path, trial_resources={"trainer": 1.0}))
    remover.join()

    assert removed.is_set(), "no trial ran on the node to remove"
    trials = [a for a in _actors(three_nodes, TRIAL_ACTOR) if a.actor_id not in before]
    placed = [(a.node_id[:8], a.state) for a in trials]
    assert len(trials) == 3, placed  # two trials, one of them started twice
    lost = [a for a in trials if a.node_id == doomed.node_id]
    assert len(lost) == 1 and lost[0].state == "DEAD", placed
    pd.testing.assert_frame_equal(rows, one_node_cv, check_exact=False, rtol=1e-5, atol=1e-6)
