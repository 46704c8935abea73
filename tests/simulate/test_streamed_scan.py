"""Big dataset scans go slab by slab: same files as an uninterrupted build after an interruption,
and the partial files gone once the scan is written."""

from __future__ import annotations

from functools import partial
from unittest.mock import ANY

import numpy as np
import pytest

from porelab import volume
from porelab.simulate.datasets import streamed_scan
from porelab.simulate.datasets import build
from porelab.simulate.datasets.build import build_plans
from porelab.simulate.datasets.presets import ScanPlan, preset_plans
from porelab.simulate.phantoms import PorePopulation, am_cube
from porelab.simulate.scanner import ScanSpec

SHAPE = (24, 24, 24)
SPEC = ScanSpec(geometry="fan", n_projections=48, exposure=5e3, blur_px=0.5, seed=7)


def _plans() -> list[ScanPlan]:
    build = partial(am_cube, shape=SHAPE, material="316L", seed=5, pores=PorePopulation(porosity_percent=2.0))
    clean = ScanPlan("cube", "train", "cube", "316L", "cube", build, SPEC, SHAPE)
    degraded = ScanPlan(
        "cube-p2-e50", "degraded", "cube", "316L", "cube", build, SPEC, SHAPE, keep_every=2, exposure=0.5, source="cube"
    )
    return [clean, degraded]


@pytest.fixture
def stream_everything(monkeypatch):
    monkeypatch.setattr(streamed_scan, "STREAM_VOXELS", 0)
    monkeypatch.setattr(streamed_scan, "slab_rows_for", lambda spec, shape, materials=1: 8)


def _no_whole_stack(*args, **kwargs):
    raise AssertionError("a streamed scan simulated its whole projection stack")


def test_an_interrupted_streamed_build_resumes_to_the_same_scans(tmp_path, stream_everything, monkeypatch):
    monkeypatch.setattr(build, "simulate", _no_whole_stack)
    whole = build_plans(tmp_path / "whole", _plans(), {"preset": "test"})
    assert whole["scans"][0]["scan"]["seed"] == 7
    assert not list((tmp_path / "whole").rglob("scan.partial.*"))

    calls = {"n": 0}
    real_record = streamed_scan._Partial.record

    def record_then_stop(self, done):
        real_record(self, done)
        calls["n"] += 1
        if len(done) == 1:
            raise RuntimeError("interrupted after the first slab")

    monkeypatch.setattr(streamed_scan._Partial, "record", record_then_stop)
    with pytest.raises(RuntimeError, match="interrupted"):
        build_plans(tmp_path / "resumed", _plans(), {"preset": "test"})
    assert (tmp_path / "resumed" / "cube" / "scan.partial.npy").exists()
    monkeypatch.setattr(streamed_scan._Partial, "record", real_record)
    written: list[int] = []
    monkeypatch.setattr(
        streamed_scan._Partial, "record", lambda self, done: (written.append(len(done)), real_record(self, done))
    )
    resumed = build_plans(tmp_path / "resumed", _plans(), {"preset": "test"})
    assert written[:2] == [2, 3]  # the cube continued at its second slab of three
    assert [e["streaming"]["slabs_resumed"] for e in resumed["scans"]] == [1, 0]
    assert whole["scans"][0]["streaming"] == {**resumed["scans"][1]["streaming"], "task_peak_rss_mib": ANY}
    for entry in resumed["scans"]:
        ours = np.asarray(volume.read(tmp_path / "resumed" / entry["files"]["scan"]).data)
        np.testing.assert_array_equal(ours, np.asarray(volume.read(tmp_path / "whole" / entry["files"]["scan"]).data))
    assert not list((tmp_path / "resumed").rglob("scan.partial.*"))


def test_a_partial_volume_of_other_settings_is_started_over(tmp_path, stream_everything):
    plan = _plans()[0]
    folder = tmp_path / "set" / plan.id
    folder.mkdir(parents=True)
    np.save(folder / "scan.partial.npy", np.full(SHAPE, 9.0, np.float32))
    (folder / "scan.partial.json").write_text('{"settings": {"spec": {}}, "done": [0, 8, 16]}')
    build_plans(tmp_path / "set", [plan], {"preset": "test"})
    data = np.asarray(volume.read(folder / "scan.tif").data)
    assert data.max() < 9.0


def test_only_grids_above_the_threshold_stream():
    assert not any(streamed_scan.streams(plan) for plan in preset_plans("am-eval", "demo"))
    assert all(streamed_scan.streams(plan) for plan in preset_plans("am-eval", "paper"))
