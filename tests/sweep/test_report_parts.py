"""Other runs' sweeps in the CV report: FTL heatmap and gamma curve, degradation plots."""

import json

import numpy as np
import pandas as pd
import pytest

from porelab.errors import ConfigError
from porelab.sweep import CVConfig
from porelab.sweep.cv.outputs import write_report_html
from porelab.sweep.cv.report_parts import sweep_parts

LEVELS = [0.1, 0.37, 0.63, 0.9]


def _ftl_run(path):
    path.mkdir()
    grid = pd.DataFrame(
        [
            {
                "alpha": a,
                "beta": b,
                "value": 0.5 + a * b / 4,
                "ci_low": 0.4,
                "ci_high": 0.9,
                "n": 5,
                "variant": f"a{a}-b{b}",
            }
            for a in LEVELS
            for b in LEVELS
        ]
    )
    gamma = pd.DataFrame(
        [
            {
                "gamma": g,
                "mean": 0.7 - abs(g - 1) / 10,
                "ci_low": 0.6,
                "ci_high": 0.8,
                "n": 5,
                "alpha": 0.63,
                "beta": 0.37,
                "variant": f"g{g}",
            }
            for g in (1 / 3, 0.5, 1.0, 2.0)
        ]
    )
    grid.to_parquet(path / "ftl_grid.parquet")
    gamma.to_parquet(path / "gamma.parquet")
    (path / "config.json").write_text(json.dumps({"metric": "ap"}))
    return grid, gamma


def _degrade_run(path):
    path.mkdir()
    rows = [
        {"series": "grid", "projections": p, "exposure": e, "model": m, "metric": "dice", "value": v * p * e / 1e4}
        for p in (100, 50, 33)
        for e in (100, 75, 50, 25)
        for m, v in (("unet", 0.8), ("otsu", 0.3))
    ]
    table = pd.DataFrame(rows)
    table.to_parquet(path / "degradation.parquet")
    (path / "config.json").write_text(json.dumps({"report_metric": "dice"}))
    return table


def test_included_runs_fill_the_sweep_sections_of_the_cv_report(tmp_path):
    grid, gamma = _ftl_run(tmp_path / "ftl")
    degradation = _degrade_run(tmp_path / "degrade")
    parts = sweep_parts([str(tmp_path / "ftl"), str(tmp_path / "degrade")])
    pd.testing.assert_frame_equal(parts.ftl_grid, grid)
    pd.testing.assert_frame_equal(parts.gamma_curve, gamma)
    assert parts.ftl_metric == "validation AP"
    assert len(parts.degradation) == len(degradation) and parts.degradation_metric.startswith("Dice")

    results = pd.DataFrame(
        [
            {"model": m, "fold": f, "split": s, "metric": "ap", "value": v}
            for m, v in (("unet", 0.9), ("otsu", 0.5))
            for f in range(2)
            for s in ("validation", "challenging")
        ]
    )
    config = CVConfig(out=str(tmp_path / "cv"), include=(str(tmp_path / "ftl"), str(tmp_path / "degrade")))
    (tmp_path / "cv").mkdir()
    overlay = (
        "unet, validation scan",
        np.random.default_rng(0).random((16, 16)),
        np.eye(16, dtype=bool),
        np.eye(16, dtype=bool),
    )
    html = write_report_html(config, results, [], 12.0, 0, ["a finding"], [overlay]).read_text()
    assert "2 (0 failed)" in html  # unet's two folds; the Otsu rows are no trials
    for alt in (
        "Focal Tversky alpha beta heatmap",
        "Focal Tversky gamma curve",
        "degradation plots",
        "slice overlay: unet, validation scan",
    ):
        assert f'alt="{alt}' in html, alt


def test_a_directory_of_another_kind_is_refused_by_name(tmp_path):
    (tmp_path / "train-run").mkdir()
    with pytest.raises(ConfigError, match="train-run.*ftl_grid.parquet.*degradation.parquet"):
        sweep_parts([str(tmp_path / "train-run")])
