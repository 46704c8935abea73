"""The degradation sweep on a tiny dataset: a 40^3 titanium cube with 5 % porosity, scanned in
parallel beam at a dose where Otsu works on the full scan and fails as projections and photons drop.

The dataset is built by `build_dataset` from a custom plan (stood in for the preset's plans, so
the sweep rebuilds the phantom exactly as it does for `am-cylinders`); the model is an
untrained tiny UNet in a registry folder (the sweep's bookkeeping, not its skill, is tested).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from porelab import volume
from porelab.errors import ConfigError
from porelab.label import otsu_pores
from porelab.verdict import segment_part
from porelab.simulate.datasets import ScanPlan, build_dataset
from porelab.simulate.phantoms import PorePopulation, am_cube
from porelab.simulate.scanner import AM_CYLINDER_PAPER, ScanSpec
from porelab.sweep.degrade.run import TABLE_COLUMNS, DegradeConfig, run_degradation
from porelab.sweep.degrade.grid import GRID, SERIES, GridSpec, degradation_points
from porelab.registry import find_model
from porelab.sweep.degrade.scan_source import rebuilt_scan

REPO = Path(__file__).resolve().parents[2]
SCAN_ID = "cube-tiny-Ti6Al4V"
N_PROJECTIONS = 120
MODELS = {"unet", "otsu"}
METRICS = {
    "ap",
    "auc",
    "dice_best",
    "threshold_best",
    "dice",
    "iou",
    "precision",
    "recall",
    "false_calls",
    "false_calls_per_cm3",
    "false_calls_per_128c",
    "pod_a50",
    "pod_a90",
    "pod_a90_95",
    "porosity_reported",
    "porosity_true",
    "porosity_error_pp",
    "pore_voxels_outside_part",
    "part_volume_error_percent",
    "pores_reported",
    "surface_pores_reported",
    "indications",
    "indications_on_rotation_axis",
    "pores_found_percent",
    "threshold",
    "low_threshold",
    "min_diameter_vox",
}
# Otsu's Dice may rise by up to this much from one setting to a worse one (Poisson noise of
# two independent thinnings); it must fall by at least _DROP from the best to the worst setting.
_TOLERANCE = 0.05
_DROP = 0.3


def _plan() -> ScanPlan:
    pores = PorePopulation(porosity_percent=5.0, diameter_median_vox=5.0, diameter_min_vox=3.0)
    spec = ScanSpec(
        name="tiny-parallel",
        geometry="parallel",
        n_projections=N_PROJECTIONS,
        exposure=2000.0,
        spectrum_weights=AM_CYLINDER_PAPER.spectrum_weights,
        seed=1,
    )
    return ScanPlan(
        SCAN_ID,
        "challenging",
        "cube",
        "Ti6Al4V",
        "cube-tiny",
        partial(am_cube, shape=(40, 40, 40), material="Ti6Al4V", seed=3, pores=pores),
        spec,
        (40, 40, 40),
    )


def _untrained_unet(registry: Path) -> Path:
    from porelab.models import build_model
    from porelab.checkpoint import save_checkpoint
    from porelab.train.config import profile

    config = profile("demo")
    config = replace(
        config, model=replace(config.model, channels=(4, 8)), patches=replace(config.patches, patch=(16, 16, 16))
    )
    torch.manual_seed(0)
    (registry / "unet").mkdir(parents=True)
    return save_checkpoint(
        registry / "unet" / "model.pt", build_model(config.model), config.to_dict(), epoch=0, metrics={}
    )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(dataset, registry) with the custom plan standing in for the preset's while the module runs."""
    root = tmp_path_factory.mktemp("degrade")
    with pytest.MonkeyPatch.context() as patch:
        plans = lambda preset, profile, sampling=None: [_plan()]  # noqa: E731
        patch.setattr("porelab.simulate.datasets.preset_plans", plans)
        patch.setattr("porelab.simulate.datasets.build.preset_plans", plans)
        patch.setattr("porelab.sweep.degrade.scan_source.preset_plans", plans)
        build_dataset(root / "ds", "am-cylinders", "demo")
        _untrained_unet(root / "registry")
        yield root / "ds", root / "registry"


@pytest.fixture(scope="module")
def swept(tiny, tmp_path_factory):
    """The full grid (3 x 4 and the projection series), in process; the Ray path runs the quick job."""
    data, registry = tiny
    out = tmp_path_factory.mktemp("run")
    summary = run_degradation(DegradeConfig(registry=str(registry), data=str(data), out=str(out), use_ray=False))
    return out, summary, pd.read_parquet(out / "degradation.parquet")


def test_points_follow_the_papers_grid_and_fuchs_series():
    points = degradation_points(GridSpec(), 367)  # the demo challenging cube's projection count
    grid = [(p.projections, p.exposure_percent, p.n_projections) for p in points if p.series == GRID]
    assert grid == [
        (pct, exp, math.ceil(367 / k)) for k, pct in ((1, 100), (2, 50), (3, 33)) for exp in (100, 75, 50, 25)
    ]
    series = [(p.projections, p.n_projections) for p in points if p.series == SERIES]
    assert series == [(100.0, 367), (10.0, 37), (1.0, 4)]  # 3300 -> 330 -> 33 scaled to 367
    with pytest.raises(ConfigError, match="exposures"):
        GridSpec(exposures=(1.0, 0.0))
    with pytest.raises(ConfigError, match="series_counts"):
        GridSpec(series_counts=(33, 3300))


def test_grid_is_complete_with_the_parquet_schema(swept):
    out, summary, table = swept
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert all(pd.api.types.is_float_dtype(table[c]) for c in ("projections", "exposure", "value"))
    assert pd.api.types.is_integer_dtype(table.n_projections)
    assert all(pd.api.types.is_string_dtype(table[c]) for c in ("series", "model", "metric"))
    expected = {
        (p.series, p.projections, p.exposure_percent, model, metric)
        for p in degradation_points(GridSpec(), N_PROJECTIONS)
        for model in MODELS
        for metric in METRICS
    }
    keys = list(table[["series", "projections", "exposure", "model", "metric"]].itertuples(index=False, name=None))
    assert len(keys) == len(set(keys)) and set(keys) == expected
    assert summary["points"] == 15 and summary["model"] == "unet" and summary["scan"] == SCAN_ID
    assert len(list((out / "scans").glob("*.npy"))) == 14  # the series' full scan is the grid's
    report = (out / "report.html").read_text()
    assert 'id="degradation"' in report and 'data-missing="degradation"' not in report
    assert json.loads((out / "summary.json").read_text())["findings"] == summary["findings"]


def test_otsu_dice_falls_with_fewer_projections_and_less_exposure(swept):
    _, _, table = swept
    dice = table[(table.series == GRID) & (table.model == "otsu") & (table.metric == "dice")]
    grid = dice.pivot_table(index="projections", columns="exposure", values="value")
    grid = grid.sort_index(ascending=False)[sorted(grid.columns, reverse=True)].to_numpy()
    assert (np.diff(grid, axis=0) <= _TOLERANCE).all(), grid  # fewer projections, same exposure
    assert (np.diff(grid, axis=1) <= _TOLERANCE).all(), grid  # less exposure, same projections
    assert grid[0, 0] - grid[-1, -1] >= _DROP, grid
    series = table[(table.series == SERIES) & (table.model == "otsu") & (table.metric == "dice")]
    assert (np.diff(series.value.to_numpy()) <= _TOLERANCE).all()


def test_each_row_scores_its_own_degraded_scan(swept, tiny):
    """Otsu's Dice recomputed from the kept scan, the part found in it and the stored labels."""
    out, _, table = swept
    data, _ = tiny
    labels = volume.read(data / SCAN_ID / "labels.tif").to_numpy() > 0
    for name, projections, exposure in (("p1-e100", 100.0, 100.0), ("p2-e50", 50.0, 50.0), ("p3-e25", 33.0, 25.0)):
        scan = volume.read(out / "scans" / f"{name}.npy").to_numpy()
        mask = otsu_pores(scan).pore_mask & segment_part(scan).inspected
        reference = 2 * (mask & labels).sum() / (mask.sum() + labels.sum())
        row = table[
            (table.series == GRID)
            & (table.model == "otsu")
            & (table.metric == "dice")
            & (table.projections == projections)
            & (table.exposure == exposure)
        ]
        assert row.value.item() == pytest.approx(reference, abs=1e-6)
    full = volume.read(out / "scans" / "p1-e100.npy").to_numpy()
    np.testing.assert_allclose(full, volume.read(data / SCAN_ID / "scan.tif").to_numpy(), atol=1e-6)


@pytest.mark.ray
@pytest.mark.slow
def test_quick_job_writes_a_two_by_two_grid(tiny, ray_session, tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("degrade_job", REPO / "jobs" / "degrade.py")
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    data, registry = tiny
    assert job.main(["--registry", str(registry), "--data", str(data), "--out", str(tmp_path), "--quick"]) == 0
    table = pd.read_parquet(tmp_path / "degradation.parquet")
    assert set(table.series) == {GRID} and set(zip(table.projections, table.exposure)) == {
        (100.0, 100.0),
        (100.0, 50.0),
        (50.0, 100.0),
        (50.0, 50.0),
    }
    assert "report:" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        job.main(["--help"])
    assert exit_info.value.code == 0 and "--quick" in capsys.readouterr().out


def test_missing_registry_model_and_scan_are_clear_errors(tiny, tmp_path):
    data, registry = tiny
    with pytest.raises(ConfigError, match="no <model>/model.pt"):
        find_model(tmp_path)
    with pytest.raises(ConfigError, match="'vae': not in the registry"):
        find_model(registry, "vae")
    assert find_model(registry).name == "unet"
    with pytest.raises(ConfigError, match="no manifest.json"):
        rebuilt_scan(tmp_path)
    with pytest.raises(ConfigError, match="'nope': not in"):
        rebuilt_scan(data, "nope")
