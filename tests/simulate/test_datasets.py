"""A one-scan dataset: written, skipped on re-run, verified, rebuilt when a file is damaged."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from porelab import volume
from porelab.errors import ConfigError
from porelab.simulate.datasets import build_dataset, preset_plans, verify

SCAN = "cylinder-5-316L"


def test_plans_keep_the_challenging_contrast():
    plans = {p.id: p for p in preset_plans("am-cylinders", "demo")}
    originals = [p for p in plans.values() if not p.degraded]
    assert len(originals) == 9
    copies = [p for p in plans.values() if p.degraded and p.role == "degraded"]
    assert len(copies) == 10 and {p.part for p in copies} == {"cylinder"}
    copy = plans["cylinder-5-316L-p2-e50"]
    assert copy.source == SCAN and copy.phantom_key == plans[SCAN].phantom_key
    assert copy.exposure == 0.5 and copy.keep_every == 2 and copy.spec == plans[SCAN].spec
    good, hard = plans[SCAN].spec, plans["cube-316L-challenging"].spec
    assert hard.exposure < good.exposure and hard.scatter_fraction > good.scatter_fraction
    assert hard.n_projections / 86 < good.n_projections / 36  # projections per voxel across
    with pytest.raises(ConfigError, match="preset"):
        preset_plans("welds-3d", "demo")


def test_selection_scans_are_other_shapes_and_independent_of_the_evaluation():
    plans = [p for p in preset_plans("am-cylinders", "demo") if p.role == "selection"]
    assert {p.part for p in plans} == {"prism", "turned-cube", "bushing"}
    assert len(plans) == 6 and sum(p.degraded for p in plans) == 3
    for copy in (p for p in plans if p.degraded):
        clean = next(p for p in plans if p.id == copy.source)
        assert (copy.keep_every, copy.exposure) == (3, 0.25) and copy.phantom_key == clean.phantom_key
    cylinder = next(p for p in preset_plans("am-cylinders", "demo") if p.id == SCAN).spec  # the training scanner
    assert {p.spec.with_(seed=0, n_projections=1) for p in plans} == {cylinder.with_(seed=0, n_projections=1)}
    evaluation = preset_plans("am-eval", "demo")
    assert not {p.spec.seed for p in plans} & {p.spec.seed for p in evaluation}
    assert not {(p.part, p.material) for p in plans} & {(p.part, p.material) for p in evaluation}


def test_evaluation_preset_is_independent_of_training():
    evaluation = preset_plans("am-eval", "demo")
    training = preset_plans("am-cylinders", "demo")
    assert len(evaluation) == 27 and {p.role for p in evaluation} == {"evaluation"}
    assert {p.part for p in evaluation} == {"prism", "turned-cube", "bushing"}
    assert not {p.spec.seed for p in evaluation} & {p.spec.seed for p in training}
    assert len({p.phantom_key for p in evaluation}) == 3  # one phantom per part, many scans


def test_cast_series_and_composite_plans():
    cast = preset_plans("cast-aluminium", "demo")
    series = [p for p in cast if p.role == "projection-series"]
    full = cast[0].spec.n_projections
    assert [round(full / p.keep_every) for p in series] == [round(full / 10), round(full / 100)]
    assert all(full % p.keep_every == 0 for p in series)  # evenly spaced over the turn
    assert all(p.phantom_key == "housing-1" for p in series)  # one simulation for the series
    composite = preset_plans("composite", "demo")
    assert {p.baseline for p in composite} == {"multi-otsu"}
    paper = {p.id: p.spec.n_projections for p in preset_plans("am-cylinders", "paper")}
    assert paper["cylinder-1-Ti6Al4V"] == 4283 and paper["cube-316L-challenging"] == 2878


def test_weld_preset_resumes(tmp_path):
    from porelab.simulate.datasets import build_welds

    manifest = build_dataset(tmp_path, preset="welds")
    entries = {e["id"]: e for e in manifest["scans"]}
    assert sorted(entries) == ["patches", "weld-001", "weld-002", "weld-003", "weld-004"]
    patches = entries["patches"]
    assert patches["ok"] == patches["defect"] == 64
    assert volume.read(tmp_path / patches["files"]["images"]).shape == (128, 192, 192)
    messages: list[str] = []
    build_welds(tmp_path, report=messages.append)
    assert all(m.endswith("skipped") for m in messages) and verify(tmp_path)["ok"]


def test_dataset_resume_and_verify(tmp_path):
    messages: list[str] = []
    manifest = build_dataset(tmp_path, only=(SCAN,), report=messages.append)
    entry = manifest["scans"][0]
    assert entry["id"] == SCAN and set(entry["sha256"]) == set(entry["files"])
    assert entry["otsu_baseline"]["dice"] > 0.5  # a good scan: the baseline works
    scan = volume.read(tmp_path / entry["files"]["scan"]).to_numpy()
    labels_before = volume.read(tmp_path / entry["files"]["labels"]).to_numpy()
    assert scan.shape == labels_before.shape == tuple(entry["shape"])
    table = pd.read_parquet(tmp_path / entry["files"]["pores"])
    assert {"id", "type", "equivalent_diameter_vox", "touches_surface"} <= set(table.columns)
    assert (tmp_path / "README.md").read_text().count(SCAN) >= 2
    assert verify(tmp_path)["ok"]

    build_dataset(tmp_path, only=(SCAN,), report=messages.append)
    assert messages[-1] == f"{SCAN}: complete, skipped"

    damaged = tmp_path / entry["files"]["labels"]
    damaged.unlink()  # a new file, not an overwrite: earlier readers may still map the old one
    damaged.write_bytes(b"damaged")
    result = verify(tmp_path)
    assert not result["ok"] and "labels" in result["problems"][0]
    rebuilt = build_dataset(tmp_path, only=(SCAN,), report=messages.append)
    assert "skipped" not in messages[-1] and verify(tmp_path)["ok"]
    again = volume.read(tmp_path / rebuilt["scans"][0]["files"]["labels"]).to_numpy()
    assert (again == labels_before).all()  # same seed, same labels
    assert json.loads((tmp_path / "manifest.json").read_text())["preset"] == "am-cylinders"


def test_a_build_of_unknown_scans_names_them_before_writing(tmp_path):
    with pytest.raises(ConfigError, match=r"bushing-9.*am-eval preset"):
        build_dataset(tmp_path / "set", "am-eval", only=("bushing-316L", "bushing-9"))
    assert not (tmp_path / "set").exists()


def test_a_second_build_into_a_folder_being_built_is_refused(tmp_path):
    """While one build holds the folder's lock (here: this test), another fails at once, names
    the folder and the holder, and writes nothing; once the lock is released the build runs."""
    import os

    from porelab.simulate.datasets.lock import dataset_lock

    with dataset_lock(tmp_path):
        with pytest.raises(ConfigError, match=rf"{tmp_path}: another build.*process {os.getpid()}"):
            build_dataset(tmp_path, "am-eval", only=("bushing-316L",))
        assert not (tmp_path / "manifest.json").exists()
    with pytest.raises(ConfigError, match="another build"):
        with dataset_lock(tmp_path):
            with dataset_lock(tmp_path):
                pass
    with dataset_lock(tmp_path):  # released by the failed attempt's exit as well
        pass
