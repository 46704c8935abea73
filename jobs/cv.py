"""Ray job: k-fold cross-validation of a list of models on Ray Tune, with report and model registry.

    python jobs/cv.py --profile demo                               # local Ray, laptop sizes
    python jobs/cv.py --profile demo --randomized data/am-randomized  # + the arm trained on randomized scans
    ray job submit --working-dir . -- python jobs/cv.py --data /data/am --out /runs/cv --profile paper

Re-running with the same --out resumes: finished trials are kept, errored ones retried.
"""

from __future__ import annotations

import argparse
import sys

from porelab.sweep.job_args import add_trial_resources_argument, add_verbose_argument, run_job
from porelab.sweep import DEFAULT_MODELS, CVConfig, run_cv


def parse(argv: list[str] | None) -> CVConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/am", help="dataset directory (default data/am)")
    parser.add_argument("--out", default="runs/cv-demo", help="run directory (default runs/cv-demo)")
    parser.add_argument("--registry", default="runs/registry", help="model registry (default runs/registry)")
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), help="registry names")
    parser.add_argument("--folds", type=int, default=5, help="k (default 5: one training scan left out per fold)")
    parser.add_argument("--profile", default="demo", help="training profile: demo or paper")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="TrainConfig override for every trial, e.g. --set loop.max_epochs=3",
    )
    parser.add_argument(
        "--select-metric",
        default="dice",
        help="metric that picks the served model, its mean over the validation scans and their "
        "degraded copies (default dice: at each model's own operating point)",
    )
    parser.add_argument(
        "--worker-cpus", type=float, default=0.5, help="CPUs of each trial's Train worker (default 0.5)"
    )
    parser.add_argument(
        "--max-concurrent",
        type=int,
        default=0,
        help="trials at once (default 0: as many as the cluster's CPUs and memory hold)",
    )
    add_trial_resources_argument(parser)
    add_verbose_argument(parser)
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
        data=args.data,
        out=args.out,
        registry=args.registry,
        models=tuple(args.models),
        folds=args.folds,
        profile=args.profile,
        overrides=tuple(args.set),
        select_metric=args.select_metric,
        worker_cpus=args.worker_cpus,
        max_concurrent=args.max_concurrent,
        trial_resources=dict(args.trial_resources),
        verbose=args.verbose,
        include=tuple(args.include),
        randomized=args.randomized,
        randomized_models=tuple(args.randomized_models),
    )


def main(argv: list[str] | None = None) -> int:
    return run_job("jobs/cv.py", run_cv, parse(argv))


if __name__ == "__main__":
    sys.exit(main())
