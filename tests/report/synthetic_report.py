"""A full `ReportData` from synthetic numbers (fixed seed): every optional part present."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from porelab.report import ReportData, Resources, SliceOverlay

# As wide as a real CV report: long model names, the six headline metrics of `make cv`.
MODELS = ("UNet", "UNet++", "unet3plus@randomized", "ceVAE", "gmvae (post-processed)")
FAMILIES = {
    "UNet": "supervised",
    "UNet++": "supervised",
    "unet3plus@randomized": "supervised",
    "ceVAE": "anomaly",
    "gmvae (post-processed)": "anomaly",
}
FOLDS = 5
METRICS = ("AP", "Dice", "dice_best", "false_calls_per_128c", "porosity_error_pp", "pod_a90")
FTL_VALUES = (0.1, 0.37, 0.63, 0.9)
GAMMAS = (1 / 3, 1 / 2, 2 / 3, 1, 4 / 3, 3 / 2, 5 / 3, 2)


def _results(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for rank, model in enumerate(MODELS):
        for fold in range(FOLDS):
            for split, drop in (("validation", 0.0), ("challenging", 0.1)):
                for metric in METRICS:
                    value = 0.9 - 0.05 * rank - drop + rng.normal(0, 0.02)
                    if metric == "pod_a90" and model == "ceVAE" and fold == 1:
                        value = np.inf  # a fold whose POD never reached 90 %
                    rows.append((model, fold, split, metric, value))
    return pd.DataFrame(rows, columns=["model", "fold", "split", "metric", "value"])


def _curves(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    pr, roc = [], []
    for rank, model in enumerate(MODELS[:3]):
        for fold in range(FOLDS):
            truth = rng.random(3000) < 0.05
            scores = truth * (3.0 - 0.5 * rank) + rng.normal(size=truth.size)
            precision, recall, _ = precision_recall_curve(truth, scores)
            fpr, tpr, _ = roc_curve(truth, scores)
            pr.append(pd.DataFrame({"model": model, "fold": fold, "recall": recall, "precision": precision}))
            roc.append(pd.DataFrame({"model": model, "fold": fold, "fpr": fpr, "tpr": tpr}))
    return pd.concat(pr, ignore_index=True), pd.concat(roc, ignore_index=True)


def _pod() -> pd.DataFrame:
    diameter = np.linspace(1.0, 12.0, 40)
    parts = []
    for model, a50 in (("UNet", 2.5), ("UNet++", 2.2), ("ceVAE", 5.0), ("Otsu", 4.5)):
        pod = 1.0 / (1.0 + np.exp(-4.0 * (np.log(diameter) - np.log(a50))))
        parts.append(
            pd.DataFrame(
                {
                    "model": model,
                    "diameter": diameter,
                    "pod": pod,
                    "ci_low": np.clip(pod - 0.08, 0, 1),
                    "ci_high": np.clip(pod + 0.08, 0, 1),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _ftl_grid(rng: np.random.Generator) -> pd.DataFrame:
    rows = [
        (a, b, 0.85 - (a - 0.63) ** 2 - (b - 0.37) ** 2 + rng.normal(0, 0.005))
        for a in FTL_VALUES
        for b in FTL_VALUES
        for _ in range(FOLDS)
    ]
    return pd.DataFrame(rows, columns=["alpha", "beta", "value"])


def _gamma() -> pd.DataFrame:
    gamma = np.array(GAMMAS)
    mean = 0.86 - 0.05 * (gamma - 1.0) ** 2
    return pd.DataFrame({"gamma": gamma, "mean": mean, "ci_low": mean - 0.02, "ci_high": mean + 0.02})


def _degradation() -> pd.DataFrame:
    rows = [
        (p, e, model, base * (p / 100) ** 0.2 * (e / 100) ** power)
        for p in (100, 50, 33)
        for e in (100, 75, 50, 25)
        for model, base, power in (("UNet++", 0.9, 0.1), ("Otsu", 0.95, 1.5))
    ]
    return pd.DataFrame(rows, columns=["projections", "exposure", "model", "value"])


def _overlay(rng: np.random.Generator, title: str) -> SliceOverlay:
    yy, xx = np.mgrid[:96, :96]
    truth = np.zeros((96, 96), bool)
    for cy, cx, r in rng.integers((10, 10, 2), (86, 86, 7), size=(6, 3)):
        truth |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
    predicted = np.roll(truth, 1, axis=1)
    predicted[5:9, 80:84] = True
    image = 1.0 - 0.6 * truth + rng.normal(0, 0.1, truth.shape)
    return SliceOverlay(title, image, truth, predicted)


def build_report_data(seed: int = 0, **overrides) -> ReportData:
    rng = np.random.default_rng(seed)
    pr, roc = _curves(rng)
    fields = dict(
        run_name="cv-demo",
        config={"profile": "demo", "folds": FOLDS, "models": list(MODELS)},
        results=_results(rng),
        findings=["UNet++ reaches validation AP 0.88."],
        families=dict(FAMILIES),
        pr_curves=pr,
        roc_curves=roc,
        pod_curves=_pod(),
        ftl_grid=_ftl_grid(rng),
        gamma_curve=_gamma(),
        degradation=_degradation(),
        overlays=[_overlay(rng, "challenging scan, slice 40"), _overlay(rng, "fold 2 validation, slice 17")],
        resources=Resources(
            wall_time_s=1534.2, cpus=2, gpus=0, trials=40, failed_trials=1, extra={"peak memory": "9.1 GiB"}
        ),
    )
    fields.update(overrides)
    return ReportData(**fields)
