"""Sweeps of training variants (named sets of TrainConfig overrides) over folds: the FTL search,
the learning curve and the label swap."""

from porelab.sweep.variants.ftl import FTLSearchConfig, run_ftl_search
from porelab.sweep.variants.label_swap import LabelSwapConfig, run_label_swap
from porelab.sweep.variants.learning_curve import LearningCurveConfig, run_learning_curve
from porelab.sweep.variants.run import SweepConfig, Variant, run_variants

__all__ = [
    "FTLSearchConfig",
    "LabelSwapConfig",
    "LearningCurveConfig",
    "SweepConfig",
    "Variant",
    "run_ftl_search",
    "run_label_swap",
    "run_learning_curve",
    "run_variants",
]
