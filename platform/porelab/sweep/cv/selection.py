"""Which cross-validated model the registry serves, and why.

The criterion is one metric (`--select-metric`, default own-operating-point Dice) averaged over
every scan the models are calibrated on but never trained on: each fold's validation scans,
their degraded re-simulations and the dataset's selection scans (parts of other shapes than the
training cylinders, clean and degraded), one value per scan. The selection scans are what lets
the choice generalise: on the cylinders alone every model scored 0.76-0.86 and Otsu 0.835, so
the model served (a VAE) was one that failed on every other part. Candidates are what the registry would
serve: an anomaly model's post-processed score, not its raw one. The challenging scan never takes part: it
is the test the report shows. Metrics where lower is better (false calls, POD sizes, absolute
porosity error) are minimised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from porelab.errors import ConfigError
from porelab.sweep.trial import POSTPROCESSED

SELECTION_SPLITS = ("validation", "degraded", "selection")
LOWER_IS_BETTER = frozenset(
    {
        "false_calls",
        "false_calls_per_cm3",
        "false_calls_per_128c",
        "pod_a50",
        "pod_a90",
        "pod_a90_95",
        "porosity_abs_error_pp",
        "pore_voxels_outside_part",
    }
)
BASELINE = "otsu"


@dataclass(frozen=True)
class Selection:
    """The chosen model, its criterion value, the runner-up, and the fold whose weights are served."""

    model: str
    metric: str
    score: float
    fold: int
    runner_up: str | None
    runner_up_score: float
    scans: int

    def reason(self) -> str:
        """The sentence the report and the model card give."""
        text = (
            f"{self.model} has the {'lowest' if self.metric in LOWER_IS_BETTER else 'highest'} mean "
            f"{self.metric} ({self.score:.3f}) over the {self.scans} scans it was calibrated on and never trained "
            "on (each fold's held-out scans, their degraded re-simulations and the selection scans of other part "
            "shapes; never the challenging scan)"
        )
        if self.runner_up is not None:
            text += f"; runner-up {self.runner_up} ({self.runner_up_score:.3f})"
        return text + f". The registry serves its fold {self.fold} weights, the best fold by the same criterion."


def select_model(results: pd.DataFrame, metric: str) -> Selection:
    """The model (not the baseline) best by `metric` over the selection scans of `results`
    (rows: model, fold, split, scan, metric, value).

    Example:
        >>> select_model(pd.read_parquet("runs/cv-demo/results.parquet"), "dice").reason()
    """
    models = set(results.model)
    served = [m for m in models if m != BASELINE and m + POSTPROCESSED not in models]  # anomaly models: post-processed
    pool = results[results.split.isin(SELECTION_SPLITS) & results.model.isin(served)]
    chosen = pool[pool.metric == metric].dropna(subset=["value"])
    if chosen.empty:
        known = sorted(pool.metric.unique())
        raise ConfigError(
            f"--select-metric {metric!r}: no model has it on the {'/'.join(SELECTION_SPLITS)} scans; "
            f"expected one of {known}"
        )
    ascending = metric in LOWER_IS_BETTER
    per_model = chosen.groupby("model")["value"].mean().sort_values(ascending=ascending, kind="stable")
    best = str(per_model.index[0])
    per_fold = (
        chosen[chosen.model == best].groupby("fold")["value"].mean().sort_values(ascending=ascending, kind="stable")
    )
    runner_up = str(per_model.index[1]) if len(per_model) > 1 else None
    return Selection(
        best,
        metric,
        float(per_model.iloc[0]),
        int(per_fold.index[0]),
        runner_up,
        float(per_model.iloc[1]) if runner_up else float(np.nan),
        int(chosen[chosen.model == best].scan.nunique()),
    )
