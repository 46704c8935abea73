"""Ray job: the Focal Tversky search of Iuso et al. (alpha x beta grid, then gamma) on Ray Tune.

    python jobs/ftl_search.py --profile demo                       # local Ray, laptop sizes
    python jobs/ftl_search.py --quick --folds 2                    # 2 x 2 grid, 2 gammas, 2 folds
    ray job submit --working-dir . -- python jobs/ftl_search.py --data /data/am --out /runs/ftl --profile paper

Writes OUT/ftl_grid.parquet, OUT/gamma.parquet, OUT/results.parquet, OUT/summary.json and
OUT/report.html. Re-running with the same --out resumes: finished trials are kept.
"""

from __future__ import annotations

import argparse
import sys

from porelab.sweep.job_args import add_sweep_arguments, run_job, sweep_config
from porelab.sweep.variants.ftl import FTLSearchConfig, quick_search, run_ftl_search


def parse(argv: list[str] | None) -> FTLSearchConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_sweep_arguments(parser, "runs/ftl-demo")
    parser.add_argument("--metric", default="ap", help="validation metric that picks (alpha, beta) (default ap)")
    args = parser.parse_args(argv)
    config = FTLSearchConfig(sweep=sweep_config(args), metric=args.metric)
    return quick_search(config) if args.quick else config


def main(argv: list[str] | None = None) -> int:
    return run_job("jobs/ftl_search.py", run_ftl_search, parse(argv))


if __name__ == "__main__":
    sys.exit(main())
