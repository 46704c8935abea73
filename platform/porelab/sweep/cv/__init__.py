"""The cross-validation: models x folds, its randomized arm, the selection of the served model,
the registry entry and the report."""

from porelab.sweep.cv.run import DEFAULT_MODELS, CVConfig, run_cv, trial_plans

__all__ = ["DEFAULT_MODELS", "CVConfig", "run_cv", "trial_plans"]
