"""A trained model's pore score over a whole scan: the raw score, and for anomaly models also
Iuso et al.'s post-processed one, both from one pass with the same windows and blending.

Scored with different blendings, the comparison measured the blending (averaged windows
lowered a small VAE's AP from 0.37 to 0.01) rather than the post-processing. The variant a
model serves (what `porelab predict` thresholds) is the raw score of a segmenter and the
post-processed score of an anomaly model; its operating point is the checkpoint's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from porelab.checkpoint import CheckpointInfo
from porelab.data.normalise import PercentileNormaliser
from porelab.infer.anomaly_maps import anomaly_scores
from porelab.infer.engine import plan_inference, run_inference
from porelab.infer.output import ArraySink
from porelab.infer.predict import PredictConfig, load_score_model, resolve_checkpoint
from porelab.infer.runtime import input_layout, prepare_for_inference
from porelab.infer.sliding import SlidingWindowConfig
from porelab.verdict import OperatingPoint

RAW, POSTPROCESSED = "raw", "postprocessed"


@dataclass
class ScoringModel:
    """A checkpoint loaded once for scoring many scans."""

    checkpoint: Path
    model: Any
    payload: dict[str, Any]
    info: CheckpointInfo

    @classmethod
    def load(cls, checkpoint: str | Path) -> "ScoringModel":
        path = resolve_checkpoint(checkpoint)
        model, payload = load_score_model(path)
        info = CheckpointInfo.from_payload(payload)
        if not info.anomaly:  # as `predict` runs each kind
            model = prepare_for_inference(model, torch.device("cpu"))
        return cls(path, model, payload, info)

    @property
    def name(self) -> str:
        return self.info.model_name

    @property
    def anomaly(self) -> bool:
        return self.info.anomaly

    @property
    def served_variant(self) -> str:
        return POSTPROCESSED if self.anomaly else RAW

    @property
    def window(self) -> tuple[int, int, int]:
        return self.info.window

    @property
    def operating_point(self) -> OperatingPoint:
        return self.info.operating_point

    def score_maps(self, scan: np.ndarray, normaliser: PercentileNormaliser) -> dict[str, np.ndarray]:
        """{"raw": score} for segmenters; anomaly models add {"postprocessed": ...}."""
        if not self.anomaly:  # the pass `predict` runs at its default memory budget
            sink = ArraySink(scan.shape)
            model = self.model
            plan = plan_inference(model, scan.shape, self.window, PredictConfig().max_memory, batch_size=4)
            run_inference(scan, lambda batch: model(input_layout(batch, model)), sink, plan, transform=normaliser)
            assert sink.array is not None
            return {RAW: sink.array[0]}
        windows = SlidingWindowConfig(window=self.window, batch_size=4)
        scores = anomaly_scores(scan, self.model.model, windows, transform=normaliser)
        return {RAW: scores.raw, POSTPROCESSED: scores.postprocessed}
