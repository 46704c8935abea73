"""Variant sweeps: plan building, the FTL grids and their tables (no Ray), the Otsu label set of the
label swap, and one quick FTL search end to end on Ray."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from porelab.errors import ConfigError
from porelab.losses import FocalTverskyLoss
from porelab.sweep.folds import make_folds
from porelab.sweep.variants.ftl import (
    FIXED_GAMMA,
    GAMMAS,
    GRID,
    FTLSearchConfig,
    best_point,
    ftl_grid_table,
    gamma_table,
    gamma_variants,
    grid_variants,
    quick_search,
    run_ftl_search,
)
from porelab.sweep.variants.label_swap import derive_label_dataset, otsu_labeller
from porelab.sweep.variants.learning_curve import LearningCurveConfig, fraction_variants
from porelab.sweep.variants.run import SweepConfig, Variant, summarise_variants, variant_plans
from porelab.train.config import TrainConfig
from synthetic import tiny_cv_dataset

TINY = (
    "loop.max_epochs=1",
    "stream.patches_per_epoch=16",
    "stream.val_patches=8",
    "patches.patch=[16,16,16]",
    "model.channels=[4,8]",
)


def _dataset(root: Path) -> Path:
    return tiny_cv_dataset(root)


def test_plans_cover_variants_x_folds_with_their_loss_and_fold(tmp_path):
    data = _dataset(tmp_path / "ds")
    sweep = SweepConfig(data=str(data), out=str(tmp_path / "run"), folds=3, overrides=TINY)
    variants = [
        Variant("a", ("task_options.alpha=0.1", "task_options.beta=0.9", "task_options.gamma=2.0")),
        Variant("b", model="unetpp"),
    ]
    plans = variant_plans(sweep, variants)
    assert sorted(plans) == ["a/0", "a/1", "a/2", "b/0", "b/1", "b/2"]
    folds = make_folds(["scan-0", "scan-1", "scan-2"], 3)
    for key, plan in plans.items():
        fold = folds[plan.fold]
        train = TrainConfig.from_dict(plan.train)
        assert key == f"{plan.variant}/{plan.fold}"
        assert (train.train_ids, train.val_ids) == (fold.train_ids, fold.val_ids)
        assert plan.val_ids == fold.val_ids and plan.challenging_ids == ("scan-3",)
        assert plan.selection_ids == ()  # variant sweeps calibrate on the validation and degraded scans
        assert plan.data == str(data.resolve())
        assert train.loop.max_epochs == 1 and train.scaling.workers == 0  # the demo trains in the trial
    assert TrainConfig.from_dict(plans["b/0"].train).model.name == "unetpp"
    loss = TrainConfig.from_dict(plans["a/1"].train).build_task().criterion
    assert isinstance(loss, FocalTverskyLoss) and (loss.alpha, loss.beta, loss.gamma) == (0.1, 0.9, 2.0)


def test_bad_variants_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="variant name"):
        Variant("a/b")
    sweep = SweepConfig(data=str(_dataset(tmp_path / "ds")), folds=2)
    with pytest.raises(ConfigError, match="repeat"):
        variant_plans(sweep, [Variant("a"), Variant("a")])
    with pytest.raises(ConfigError, match="manifest"):
        variant_plans(SweepConfig(data=str(tmp_path / "none")), [Variant("a")])


def test_ftl_grids_follow_the_paper_and_reuse_the_fixed_gamma_point():
    config = FTLSearchConfig()
    grid = grid_variants(config)
    assert len(grid) == 16
    assert {(v.params["alpha"], v.params["beta"]) for v in grid} == {(a, b) for a in GRID for b in GRID}
    assert {v.params["gamma"] for v in grid} == {0.5}
    gammas = gamma_variants(config, 0.37, 0.63)
    assert [v.params["gamma"] for v in gammas] == pytest.approx([1 / 3, 1 / 2, 2 / 3, 1, 4 / 3, 3 / 2, 5 / 3, 2])
    assert {(v.params["alpha"], v.params["beta"]) for v in gammas} == {(0.37, 0.63)}
    at_fixed = [v for v in gammas if v.params["gamma"] == FIXED_GAMMA]
    assert at_fixed[0].name in {v.name for v in grid}  # same trial directory: trained once
    quick = quick_search(config)
    assert len(grid_variants(quick)) == 4 and len(quick.gammas) == 2 and quick.sweep.folds == 2
    assert len(GAMMAS) == 8


def _fake_rows(variants, folds=3, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i, variant in enumerate(variants):
        for fold in range(folds):
            for scan in ("s1", "s2"):  # two validation scans per fold: averaged within the fold first
                rows.append(
                    {
                        "variant": variant.name,
                        "model": "unet",
                        "fold": fold,
                        "split": "validation",
                        "scan": scan,
                        "metric": "ap",
                        "value": 0.5 + 0.02 * i + rng.normal(0, 0.01),
                    }
                )
            rows.append(
                {
                    "variant": variant.name,
                    "model": "otsu",
                    "fold": fold,
                    "split": "validation",
                    "scan": "s1",
                    "metric": "ap",
                    "value": 0.99,
                }
            )
    return pd.DataFrame(rows)


def test_grid_table_and_best_point_against_pandas_and_scipy():
    variants = grid_variants(FTLSearchConfig())
    rows = _fake_rows(variants)
    table = ftl_grid_table(rows, variants, "unet")
    unet = rows[rows.model == "unet"]
    per_fold = unet.groupby(["variant", "fold"])["value"].mean()
    expected = per_fold.groupby("variant").mean()
    assert table.set_index("variant")["value"].to_dict() == pytest.approx(expected.to_dict(), abs=1e-12)
    best = best_point(table, "value")
    assert best["variant"] == expected.idxmax() == variants[-1].name
    values = per_fold[variants[0].name].to_numpy()
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    first = table.iloc[0]
    assert (first.ci_low, first.ci_high, first.n) == (pytest.approx(low), pytest.approx(high), 3)
    curve = gamma_table(rows, variants[:3], "unet")
    assert list(curve.columns[:4]) == ["gamma", "mean", "ci_low", "ci_high"]
    with pytest.raises(ConfigError, match="no grid point"):
        best_point(table.assign(value=math.nan), "value")


def test_summaries_per_variant():
    variants = grid_variants(FTLSearchConfig())[:2]
    summary = summarise_variants(_fake_rows(variants))
    assert set(summary.variant) == {v.name for v in variants}
    assert set(summary.model) == {"unet", "otsu"} and (summary.n == 3).all()


def test_learning_curve_fractions_scale_the_patch_budget():
    config = LearningCurveConfig(
        sweep=SweepConfig(overrides=("stream.patches_per_epoch=200", "batch_size=4")), fractions=(0.01, 0.1, 1.0)
    )
    variants = fraction_variants(config)
    assert [v.params["patches_per_epoch"] for v in variants] == [4, 20, 200]  # never less than a batch
    assert [v.overrides for v in variants][1] == ("stream.patches_per_epoch=20",)
    assert [v.params["fraction_used"] for v in variants] == [0.02, 0.1, 1.0]
    with pytest.raises(ConfigError, match="fractions"):
        LearningCurveConfig(fractions=(0.0, 1.0))


def test_otsu_label_set_replaces_training_labels_and_keeps_the_challenging_truth(tmp_path):
    from porelab import volume
    from porelab.data import load_scans
    from porelab.label import otsu_pores

    data = _dataset(tmp_path / "ds")
    derived = derive_label_dataset(data, tmp_path / "otsu", otsu_labeller)
    records = {s.id: s for s in load_scans(derived)}
    assert set(records) == {"scan-0", "scan-1", "scan-2", "scan-3"}
    for scan_id in ("scan-0", "scan-1", "scan-2"):
        expected = otsu_pores(volume.read(data / scan_id / "scan.npy").to_numpy()).pore_labels
        assert np.array_equal(volume.read(records[scan_id].label_path).to_numpy(), expected)
        assert Path(records[scan_id].label_path).parent == derived / scan_id
    truth = volume.read(data / "scan-3" / "labels.npy").to_numpy()
    assert np.array_equal(volume.read(records["scan-3"].label_path).to_numpy(), truth)
    manifest = json.loads((derived / "manifest.json").read_text())
    assert all(Path(e["files"]["materials"]).is_absolute() for e in manifest["scans"])


@pytest.mark.ray
@pytest.mark.slow
def test_quick_ftl_search_end_to_end(tmp_path, ray_session):
    data = _dataset(tmp_path / "ds")
    out = tmp_path / "run"
    sweep = SweepConfig(data=str(data), out=str(out), folds=2, overrides=TINY, max_concurrent=2)
    config = FTLSearchConfig(sweep=sweep, alphas=(0.1, 0.9), betas=(0.5,), gammas=(0.5, 1.0))
    summary = run_ftl_search(config)

    grid = pd.read_parquet(out / "ftl_grid.parquet")
    assert sorted(zip(grid.alpha, grid.beta)) == [(0.1, 0.5), (0.9, 0.5)]
    assert (grid.n == 2).all() and grid.value.notna().all()  # complete: every point on both folds
    results = pd.read_parquet(out / "results.parquet")
    grid_rows = results[
        (results.stage == "grid")
        & (results.model == "unet")
        & (results.split == "validation")
        & (results.metric == "ap")
    ]
    mean_ap = grid_rows.groupby(["variant", "fold"])["value"].mean().groupby("variant").mean()
    best = grid.set_index("variant").loc[mean_ap.idxmax()]
    assert (summary["best"]["alpha"], summary["best"]["beta"]) == (best.alpha, best.beta)
    gammas = pd.read_parquet(out / "gamma.parquet")
    assert sorted(gammas.gamma) == [0.5, 1.0] and (gammas.n == 2).all()
    assert set(zip(gammas.alpha, gammas.beta)) == {(best.alpha, best.beta)}
    assert set(results[results.stage == "gamma"].split) == {"validation", "challenging"}
    assert not summary["failed_trials"]
    assert (out / "trials").is_dir() and len(list((out / "trials").iterdir())) == 3  # the g=0.5 point reused
    page = (out / "report.html").read_text()
    assert 'data-missing="ftl_grid"' not in page and 'data-missing="gamma_curve"' not in page


def test_cevae_label_set_labels_inside_the_part_from_a_checkpoint(tmp_path):
    """An untrained ceVAE's labels: the plumbing (checkpoint, reconstruction, post-processing,
    labelling) runs and gives instance labels only inside the Otsu object mask."""
    import torch

    from porelab import volume
    from porelab.label import object_mask
    from porelab.models import build_model
    from porelab.sweep.variants.label_swap import CevaeLabeller
    from porelab.checkpoint import save_checkpoint
    from porelab.train.config import training_config

    torch.manual_seed(0)
    data = _dataset(tmp_path / "ds")
    config = training_config("demo", "cevae", None, list(TINY))
    checkpoint = save_checkpoint(
        tmp_path / "cevae.pt", build_model(config.model), config.to_dict(), epoch=0, metrics={}
    )
    derived = derive_label_dataset(data, tmp_path / "cevae", CevaeLabeller(checkpoint))
    for scan_id in ("scan-0", "scan-1", "scan-2"):
        labels = volume.read(derived / scan_id / "labels.npy").to_numpy()
        grey = volume.read(data / scan_id / "scan.npy").to_numpy()
        assert labels.dtype == np.int32 and labels.shape == grey.shape
        assert not (labels[~object_mask(grey)[0]] > 0).any()
    assert (
        pd.read_parquet(derived / "scan-0" / "pores.parquet").shape[0]
        == len(np.unique(volume.read(derived / "scan-0" / "labels.npy").to_numpy())) - 1
    )


def test_findings_clip_intervals_to_the_metrics_range_and_mark_few_folds():
    from porelab.sweep.variants.ftl import _findings as ftl_findings
    from porelab.sweep.variants.label_swap import _findings as swap_findings

    summary = pd.DataFrame(
        [{"variant": "unet@x", "model": "unet", "split": "challenging", "metric": "ap", "mean": 0.073}]
    ).assign(ci_low=-0.18, ci_high=0.326, n=2)
    line = swap_findings(summary, pd.DataFrame({"label_set": ["x"], "dice": [0.5]}))[-1]
    assert "ap 0.073 (0.000–0.326) †" in line  # a t interval over 2 folds reaches below 0: clipped, marked
    best = pd.Series(
        {"gamma": 0.75, "alpha": 0.3, "beta": 0.7, "value": 0.9, "mean": 0.9, "ci_low": 0.85, "ci_high": 0.95, "n": 5}
    )
    assert "dice 0.900 ± 0.050 (95 % CI, 5 folds)" in ftl_findings(best, best, "dice")[0]
