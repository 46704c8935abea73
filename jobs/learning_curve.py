"""Ray job: learning curve (Bertoldo et al.), validation AP and Dice against the share of training data.

The share is the training-patch budget: at fraction f each epoch draws f of the profile's
training patches (same epochs, same training scans), see porelab.sweep.variants.learning_curve.

    python jobs/learning_curve.py --profile demo                   # 1, 3, 10, 30, 100 %
    python jobs/learning_curve.py --fractions 0.1 0.5 1 --folds 3
    ray job submit --working-dir . -- python jobs/learning_curve.py --data /data/am --profile paper

Writes OUT/learning_curve.parquet, OUT/results.parquet, OUT/summary.json and OUT/report.html.
Re-running with the same --out resumes: finished trials are kept.
"""

from __future__ import annotations

import argparse
import sys

from porelab.sweep.job_args import add_sweep_arguments, run_job, sweep_config
from porelab.sweep.variants.learning_curve import FRACTIONS, LearningCurveConfig, quick_curve, run_learning_curve


def parse(argv: list[str] | None) -> LearningCurveConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_sweep_arguments(parser, "runs/learning-curve-demo")
    parser.add_argument(
        "--fractions",
        nargs="+",
        type=float,
        default=list(FRACTIONS),
        help="shares of the training patches, in (0, 1] (default 0.01 0.03 0.1 0.3 1)",
    )
    args = parser.parse_args(argv)
    config = LearningCurveConfig(sweep=sweep_config(args), fractions=tuple(args.fractions))
    return quick_curve(config) if args.quick else config


def main(argv: list[str] | None = None) -> int:
    return run_job("jobs/learning_curve.py", run_learning_curve, parse(argv))


if __name__ == "__main__":
    sys.exit(main())
