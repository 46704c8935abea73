"""Ray job: the served model and the Otsu baseline on a scan re-simulated with fewer projections and less exposure.

    python jobs/degrade.py                                         # runs/registry, data/am, local Ray
    ray job submit --working-dir . -- python jobs/degrade.py --registry /runs/registry --data /data/am

The dataset's challenging scan is rebuilt from its preset, simulated once at full dose and
thinned to projections {100, 50, 33} % x exposure {100, 75, 50, 25} % plus Fuchs et al.'s
3300 -> 330 -> 33 projection series; every setting is reconstructed and scored in a Ray task.
Writes degradation.parquet, report.html and summary.json into --out.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from porelab.sweep.degrade.grid import QUICK_GRID
from porelab.sweep.degrade.outputs import METRIC_NAMES
from porelab.sweep.degrade.run import DegradeConfig, run_degradation
from porelab.sweep.job_args import run_job


def parse(argv: list[str] | None) -> DegradeConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", default="runs/registry", help="model registry (default runs/registry)")
    parser.add_argument("--model", default=None, help="registry folder (default: the model selected last)")
    parser.add_argument("--data", default="data/am", help="dataset directory (default data/am)")
    parser.add_argument("--scan", default=None, help="scan id (default: the dataset's challenging scan)")
    parser.add_argument("--out", default="runs/degrade-demo", help="run directory (default runs/degrade-demo)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a 2 x 2 grid (100/50 %% projections x 100/50 %% exposure), no series: for tests",
    )
    parser.add_argument(
        "--metric",
        default="dice",
        choices=list(METRIC_NAMES),
        help="metric the report plots (default dice: at the model's operating point)",
    )
    parser.add_argument("--task-cpus", type=float, default=1.0, help="CPUs of each setting's Ray task (default 1)")
    args = parser.parse_args(argv)
    config = DegradeConfig(
        registry=args.registry,
        data=args.data,
        out=args.out,
        model=args.model,
        scan=args.scan,
        report_metric=args.metric,
        task_cpus=args.task_cpus,
    )
    return replace(config, grid=QUICK_GRID) if args.quick else config


def main(argv: list[str] | None = None) -> int:
    return run_job("jobs/degrade.py", lambda config: run_degradation(config, report=print), parse(argv))


if __name__ == "__main__":
    sys.exit(main())
