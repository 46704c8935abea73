"""A trained model scored on one whole scan of a dataset: voxel AP/ROC, Dice, POD, false calls.

Voxel metrics count voxels inside the part (materials > 0, pores included) and are streamed
through a `ScoreHistogram`; pore metrics (POD, false calls) use the instance labels and the
ground-truth pore table. Anomaly models are scored raw and after Iuso et al.'s
post-processing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from porelab.data.scans import ScanRecord
from porelab.evaluate import PODConfig, ScoreHistogram, probability_of_detection

FIXED_THRESHOLD = 0.5


@dataclass(frozen=True)
class ScanTruth:
    """What a scan is scored against."""

    labels: np.ndarray
    inside: np.ndarray
    pores: pd.DataFrame

    @classmethod
    def load(cls, root: Path, entry: dict[str, Any]) -> "ScanTruth":
        from porelab import volume

        files = entry["files"]
        labels = volume.read(root / files["labels"]).to_numpy().astype(np.int32)
        materials = volume.read(root / files["materials"]).to_numpy()
        return cls(labels, (materials > 0) | (labels > 0), pd.read_parquet(root / files["pores"]))


def score_map(model: Any, scan: ScanRecord, window: tuple[int, int, int]) -> np.ndarray:
    """The model's pore score over the whole scan (in memory: evaluation scans are small)."""
    from porelab import volume
    from porelab.infer.runtime import input_layout, prepare_for_inference
    from porelab.infer.sliding import SlidingWindowConfig, sliding_window

    import torch

    vol = volume.read(scan.scan_path)
    out = np.zeros(vol.shape, np.float32)

    def sink(z0: int, block: np.ndarray) -> None:
        out[z0:z0 + block.shape[1]] = block[0]

    model = prepare_for_inference(model, torch.device("cpu"))
    sliding_window(vol, lambda batch: model(input_layout(batch, model)), sink,
                   SlidingWindowConfig(window=window, batch_size=4), transform=scan.normaliser)
    return out


@dataclass(frozen=True)
class Evaluation:
    """Metrics of one score map plus the curves the report draws (plain lists, JSON-ready)."""

    metrics: dict[str, float]
    curves: dict[str, Any]


def _curves(histogram: ScoreHistogram, pod: Any) -> dict[str, Any]:
    pr, roc = histogram.pr_curve(100), histogram.roc_curve(100)
    curves: dict[str, Any] = {"pr": {"recall": pr.x.tolist(), "precision": pr.y.tolist()},
                              "roc": {"fpr": roc.x.tolist(), "tpr": roc.y.tolist()}}
    if pod.fitted:
        table = pod.curve(50, size_range=(1.0, 20.0))
        curves["pod"] = {"diameter": table["size"].tolist(), "pod": table["pod"].tolist(),
                         "ci_low": table["pod_lower"].tolist(), "ci_high": table["pod_upper"].tolist()}
    return curves


def score_metrics(score: np.ndarray, truth: ScanTruth, voxel_size: tuple[float, float, float],
                  fixed_threshold: float | None = FIXED_THRESHOLD) -> Evaluation:
    """AP, ROC AUC, best Dice (and its threshold), Dice/IoU at the fixed threshold, POD and false calls."""
    inside = truth.inside
    low, high = float(score[inside].min()), float(score[inside].max())
    histogram = ScoreHistogram(low, high if high > low else low + 1.0, bins=4096)
    histogram.add(score, truth.labels > 0, mask=inside)
    best = histogram.best_dice()
    threshold = best.threshold if fixed_threshold is None else fixed_threshold
    fixed = histogram.at_threshold(threshold)
    pod = probability_of_detection((score >= best.threshold) & inside, truth.labels, truth.pores, voxel_size,
                                   inside, PODConfig())
    metrics = {"ap": histogram.average_precision(), "auc": histogram.roc_auc(), "dice_best": best.dice,
               "threshold_best": best.threshold, "dice_fixed": fixed.dice, "iou_fixed": fixed.iou,
               "pod_a50": pod.a50, "pod_a90": pod.a90, "pod_a90_95": pod.a90_95,
               "false_calls": float(pod.false_calls)}
    return Evaluation({k: float(v) for k, v in metrics.items()}, _curves(histogram, pod))


def scan_scores(checkpoint: Path, scan: ScanRecord) -> tuple[dict[str, np.ndarray], bool]:
    """({"raw": score} or, for anomaly models, {"raw": ..., "postprocessed": ...}, is_anomaly).

    An anomaly model's raw and post-processed scores come from one pass over the scan with
    the same windows and blending: scored with different blendings, the comparison measured
    the blending (averaged windows lowered a small VAE's AP from 0.37 to 0.01) rather than
    the post-processing.
    """
    from porelab.infer.predict import load_score_model
    from porelab.models import model_spec

    model, payload = load_score_model(checkpoint)
    window = tuple(int(w) for w in payload["train_config"]["patches"]["patch"])
    if model_spec(payload["model_config"]["name"]).family != "anomaly":
        return {"raw": score_map(model, scan, window)}, False  # type: ignore[arg-type]
    error, postprocessed = _anomaly_maps(model.model, scan, window)  # type: ignore[arg-type]
    return {"raw": error, "postprocessed": postprocessed}, True


def evaluate_checkpoint(checkpoint: Path, scan: ScanRecord, truth: ScanTruth) -> dict[str, Evaluation]:
    """{"raw": ...} for segmenters (Dice at the fixed threshold); anomaly models, whose scores
    have no fixed scale, add {"postprocessed": ...} and take the best threshold throughout."""
    scores, anomaly = scan_scores(checkpoint, scan)
    fixed = None if anomaly else FIXED_THRESHOLD
    return {variant: score_metrics(score, truth, scan.voxel_size, fixed) for variant, score in scores.items()}


def _anomaly_maps(model: Any, scan: ScanRecord, window: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(|x - x_hat|, its post-processed version) over the whole scan."""
    from porelab import volume
    from porelab.infer.anomaly_maps import reconstruction_maps
    from porelab.infer.postprocess import postprocess
    from porelab.infer.sliding import SlidingWindowConfig

    error, reconstruction = reconstruction_maps(volume.read(scan.scan_path).to_numpy(), model,
                                                SlidingWindowConfig(window=window, batch_size=4),
                                                transform=scan.normaliser)
    return error, postprocess(error, reconstruction)[0]


def otsu_metrics(root: Path, entry: dict[str, Any], truth: ScanTruth, voxel_size: tuple[float, float, float]
                 ) -> Evaluation:
    """The filter baseline on the same footing: its binary mask as a 0/1 score."""
    from porelab import volume
    from porelab.label import otsu_pores

    mask = otsu_pores(volume.read(root / entry["files"]["scan"]).to_numpy()).pore_mask
    return score_metrics(mask.astype(np.float32), truth, voxel_size, FIXED_THRESHOLD)
