"""Ray Tune experiments: k-fold cross-validation of models (and, later, the papers' sweeps)."""

from porelab.sweep.cv import DEFAULT_MODELS, CVConfig, run_cv
from porelab.sweep.degrade import DegradeConfig, run_degradation
from porelab.sweep.folds import Fold, make_folds
from porelab.sweep.ftl import FTLSearchConfig, run_ftl_search
from porelab.sweep.label_swap import LabelSwapConfig, run_label_swap
from porelab.sweep.learning_curve import LearningCurveConfig, run_learning_curve
from porelab.sweep.variants import SweepConfig, Variant, run_variants

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
    "Variant",
    "make_folds",
    "run_cv",
    "run_ftl_search",
    "run_label_swap",
    "run_learning_curve",
    "run_variants",
]
