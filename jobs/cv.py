"""Ray job: k-fold cross-validation of a list of models on Ray Tune, with report and model registry.

    python jobs/cv.py --profile demo                               # local Ray, laptop sizes
    python jobs/cv.py --profile demo --randomized data/am-randomized  # + the arm trained on randomized scans
    ray job submit --working-dir . -- python jobs/cv.py --data /data/am --out /runs/cv --profile paper

Re-running with the same --out resumes: finished trials are kept, errored ones retried.
"""

from __future__ import annotations

import argparse
import sys

from porelab.sweep import DEFAULT_MODELS, CVConfig, run_cv
from porelab.sweep.job_args import add_trial_arguments, run_job, trial_fields


def parse(argv: list[str] | None) -> CVConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_trial_arguments(parser, "runs/cv-demo")
    parser.add_argument("--registry", default="runs/registry", help="model registry (default runs/registry)")
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), help="catalogue names")
    parser.add_argument(
        "--select-metric",
        default="dice",
        help="metric that picks the served model, its mean over the validation scans and their "
        "degraded copies (default dice: at each model's own operating point)",
    )
    parser.add_argument(
        "--include",
        nargs="+",
        default=[],
        metavar="RUN_DIR",
        help="run directories of jobs/ftl_search.py and jobs/degrade.py whose heatmap, gamma "
        "curve and degradation plots go into this report",
    )
    parser.add_argument(
        "--randomized",
        default="",
        metavar="DATASET",
        help="a randomized dataset (porelab simulate --preset am-randomized): adds the second arm, "
        "the same models trained on its 'train' scans and scored on the same folds",
    )
    parser.add_argument(
        "--randomized-models",
        nargs="+",
        default=[],
        metavar="MODEL",
        help="the second arm's models (default: --models)",
    )
    args = parser.parse_args(argv)
    return CVConfig(
        **trial_fields(args),
        registry=args.registry,
        models=tuple(args.models),
        select_metric=args.select_metric,
        include=tuple(args.include),
        randomized=args.randomized,
        randomized_models=tuple(args.randomized_models),
    )


def main(argv: list[str] | None = None) -> int:
    return run_job("jobs/cv.py", run_cv, parse(argv))


if __name__ == "__main__":
    sys.exit(main())
