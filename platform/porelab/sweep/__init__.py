"""Ray Tune experiments: k-fold cross-validation of models (and, later, the papers' sweeps)."""

from porelab.sweep.cv import DEFAULT_MODELS, CVConfig, run_cv
from porelab.sweep.folds import Fold, make_folds

__all__ = ["CVConfig", "DEFAULT_MODELS", "Fold", "make_folds", "run_cv"]
