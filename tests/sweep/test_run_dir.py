"""The run directory every sweep job leaves: config.json at the start, summary.json at the end,
and the resources the report states (this machine's counts when no Ray is connected)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pytest
import ray
import torch

from porelab.sweep.run_dir import compute, run_resources, start_run, write_summary


@dataclass(frozen=True)
class _Config:
    data: str = "data/am"
    models: tuple[str, ...] = ("unet", "vae")


def test_a_run_starts_with_its_config_and_ends_with_its_summary(tmp_path):
    out = start_run(tmp_path / "run", _Config())
    assert json.loads((out / "config.json").read_text()) == {"data": "data/am", "models": ["unet", "vae"]}
    content = write_summary(
        out, ["unet wins"], 12.345, out / "report.html", ["trial x failed"], selected={"model": "unet"}
    )
    assert json.loads((out / "summary.json").read_text()) == content
    assert content == {
        "selected": {"model": "unet"},
        "findings": ["unet wins"],
        "failed_trials": ["trial x failed"],
        "seconds": 12.3,
        "report": str(out / "report.html"),
    }


def test_without_ray_the_resources_are_this_machines(monkeypatch):
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    assert compute() == (float(os.cpu_count() or 1), float(torch.cuda.device_count()))
    resources = run_resources(60.0, trials=10, failed=1)
    assert (resources.wall_time_s, resources.trials, resources.failed_trials) == (60.0, 10, 1)


def test_with_ray_the_resources_are_the_clusters_gpus_included(monkeypatch):
    monkeypatch.setattr(ray, "is_initialized", lambda: True)
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 64.0, "GPU": 4.0, "memory": 1e12})
    assert compute() == (64.0, 4.0)
    assert run_resources(1.0, 2).gpus == pytest.approx(4.0)
