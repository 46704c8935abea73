"""Fold making, fold statistics and findings (no Ray); the selection rule: test_selection.py."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from porelab.errors import ConfigError
from porelab.sweep.folds import make_folds
from porelab.sweep.cv.outputs import BASELINE, _pod_frame, findings, model_families
from porelab.sweep.results import summarise


def test_leave_one_out_folds():
    folds = make_folds(["a", "b", "c", "d", "e"], 5)
    assert [f.val_ids for f in folds] == [("a",), ("b",), ("c",), ("d",), ("e",)]
    assert all(set(f.train_ids) | set(f.val_ids) == set("abcde") for f in folds)
    assert all(not set(f.train_ids) & set(f.val_ids) for f in folds)


def test_fewer_folds_group_scans():
    folds = make_folds(["a", "b", "c", "d", "e"], 2)
    assert [f.val_ids for f in folds] == [("a", "c", "e"), ("b", "d")]
    with pytest.raises(ConfigError, match="folds = 6"):
        make_folds(["a", "b"], 6)


def _results():
    rng = np.random.default_rng(0)
    rows = []
    for model, ap, dice in (
        ("unet", 0.9, 0.7),
        ("unetpp", 0.8, 0.6),
        ("vae", 0.3, 0.2),
        ("vae (post-processed)", 0.5, 0.3),
        (BASELINE, 0.4, 0.3),
    ):
        for fold in range(5):
            for split, shift in (("validation", 0.0), ("challenging", -0.2)):
                rows.append((model, fold, split, "ap", ap + shift + rng.normal(0, 0.02)))
                rows.append((model, fold, split, "dice_best", dice + shift + rng.normal(0, 0.02)))
                rows.append((model, fold, split, "dice", dice + shift))
                rows.append((model, fold, split, "false_calls", 3.0 if model == BASELINE else 1.0))
                rows.append((model, fold, split, "porosity_error_pp", 0.5 if model == BASELINE else -0.1))
    return pd.DataFrame(rows, columns=["model", "fold", "split", "metric", "value"])


def test_summary_matches_scipy_t_interval():
    results = _results()
    summary = summarise(results)
    row = summary[(summary.model == "unet") & (summary.split == "validation") & (summary.metric == "ap")].iloc[0]
    values = results[(results.model == "unet") & (results.split == "validation") & (results.metric == "ap")].value
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert row["mean"] == pytest.approx(values.mean()) and row.n == 5
    assert (row.ci_low, row.ci_high) == pytest.approx((low, high))


def test_findings_state_why_and_the_challenging_verdict_beside_otsu():
    summary = summarise(_results())
    lines = findings(summary, {"model": "unet", "why": "unet has the highest mean dice (0.700) ...", "dice": 0.7})
    assert lines[0] == "Selected for serving: unet has the highest mean dice (0.700) ..."
    challenging = next(line for line in lines if line.startswith("On the challenging scan"))
    # challenging Dice: unet 0.5 at its operating point, Otsu 0.1 (exact: no noise on dice)
    assert "Dice 0.500, 1.0 false calls, porosity error -0.10" in challenging
    assert "Otsu baseline inside the same part: Dice 0.100, 3.0 false calls, porosity error +0.50" in challenging
    assert any(line.startswith("vae validation AP") for line in lines)


def test_model_families_follow_the_catalogue():
    names = ["unet", "vae (post-processed)", "unet3plus@randomized", BASELINE, "not-a-model"]
    assert model_families(names) == {
        "unet": "supervised",
        "vae (post-processed)": "anomaly",
        "unet3plus@randomized": "supervised",
    }


def test_pod_frame_keeps_the_baseline_curve_beside_the_models():
    """Curves of the challenging scan are averaged per model on one grid; the baseline's is one of them."""

    def curve(a50):
        diameter = np.linspace(1.0, 20.0, 30)
        pod = 1 / (1 + (a50 / diameter) ** 4)
        return {
            "diameter": diameter.tolist(),
            "pod": pod.tolist(),
            "ci_low": (pod * 0.9).tolist(),
            "ci_high": np.minimum(pod * 1.1, 1).tolist(),
        }

    curves = [{"model": "unet", "fold": f, "split": "challenging", "pod": curve(a)} for f, a in enumerate((2.0, 3.0))]
    curves += [
        {"model": BASELINE, "fold": 0, "split": "challenging", "pod": curve(5.0)},
        {"model": "unet", "fold": 0, "split": "validation", "pod": curve(9.0)},
    ]  # not the challenging scan
    frame = _pod_frame(curves)
    assert sorted(frame.model.unique()) == sorted(["unet", BASELINE])

    def at(model, d):
        return float(np.interp(d, frame[frame.model == model].diameter, frame[frame.model == model].pod))

    assert at(BASELINE, 5.0) == pytest.approx(0.5, abs=0.01)
    assert at("unet", 2.5) == pytest.approx(np.mean([1 / (1 + (2 / 2.5) ** 4), 1 / (1 + (3 / 2.5) ** 4)]), abs=0.01)
