"""Shared fixtures: the real scanner data beside the checkout, and one Ray per session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from synthetic import sphere_scan, write_dataset

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = REPO_ROOT.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """`../shared/data/real`, or a skip when the checkout has no shared folder beside it."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real scanner data not found at {REAL_DATA} (needs ../shared beside the checkout)")
    return REAL_DATA


@pytest.fixture(scope="session")
def ray_session():
    """One small local Ray for the whole test session (starting it costs ~5 s and ~600 MiB).

    With its dashboard, as `porelab.runtime.ensure_ray` starts it: Ray Train's placement-group
    cleaner asks the dashboard's state API whether its trainer is gone, and without it each
    TorchTrainer left a 240 MiB cleaner process behind for the rest of the session."""
    ray = pytest.importorskip("ray")
    start_session_ray()
    yield ray
    ray.shutdown()


def start_session_ray() -> None:
    """The session's Ray (see `ray_session`), unless a Ray is up; the multi-node tests call it
    again after their cluster is gone."""
    import ray

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if not ray.is_initialized():
        ray.init(
            num_cpus=2,
            include_dashboard=True,
            dashboard_host="127.0.0.1",
            object_store_memory=200 * 1024**2,
            log_to_driver=False,
            configure_logging=False,
        )


@pytest.fixture
def tiny_dataset(tmp_path):
    shape = (24, 28, 28)
    scans = []
    for i in range(3):
        rng = np.random.default_rng(i)
        centres = [tuple(int(c) for c in rng.integers(6, 18, 3)) for _ in range(2)]
        scan, labels = sphere_scan(shape, centres, 3, seed=i)
        scans.append((f"scan-{i}", "good", scan, labels))
    return write_dataset(tmp_path / "ds", scans)
