"""Ray Tune experiments, each a set of `TrialPlan`s run by one tuner (`tuner.py`) and trained,
calibrated and scored by one trial function (`trial.py`): the cross-validation (`cv/`), the
variant sweeps (`variants/`), the degradation grid (`degrade/`) and the bundled detector's
recipe and fine-tuning (`detector/`)."""

from porelab.sweep.cv import DEFAULT_MODELS, CVConfig, run_cv
from porelab.sweep.degrade import DegradeConfig, run_degradation
from porelab.sweep.folds import Fold, make_folds
from porelab.sweep.plan import TrialGroup, TrialPlan
from porelab.sweep.tuner import TrialSettings, run_trials
from porelab.sweep.variants import (
    FTLSearchConfig,
    LabelSwapConfig,
    LearningCurveConfig,
    SweepConfig,
    Variant,
    run_ftl_search,
    run_label_swap,
    run_learning_curve,
    run_variants,
)

__all__ = [
    "CVConfig",
    "DEFAULT_MODELS",
    "DegradeConfig",
    "run_degradation",
    "FTLSearchConfig",
    "Fold",
    "LabelSwapConfig",
    "LearningCurveConfig",
    "SweepConfig",
    "TrialGroup",
    "TrialPlan",
    "TrialSettings",
    "Variant",
    "make_folds",
    "run_cv",
    "run_ftl_search",
    "run_label_swap",
    "run_learning_curve",
    "run_trials",
    "run_variants",
]
