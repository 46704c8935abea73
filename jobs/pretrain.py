"""Ray job: train the bundled pore detector on the am-randomized preset and score it on am-eval.

    python jobs/pretrain.py --profile laptop                       # <= 90 min on 2 cores, local Ray
    ray job submit --working-dir . -- python jobs/pretrain.py --profile cluster \
        --data /data/am-randomized --evaluation-data /data/am-eval --out /runs/pretrain-cluster

Re-running with the same --out resumes (datasets, training and scoring). --bundle DIR writes
the result as a bundled detector folder (what platform/porelab/bundled/porelab-am holds).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from porelab.sweep.detector.pretrain import PretrainConfig, bundle_to, model_card, pretrain
from porelab.sweep.job_args import run_job


def parse(argv: list[str] | None) -> tuple[PretrainConfig, str | None]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="laptop", help="laptop (default) or cluster")
    parser.add_argument("--data", default="data/am-randomized", help="the training set (written when missing)")
    parser.add_argument(
        "--evaluation-data",
        default="data/am-eval",
        help="the evaluation preset (written when missing); 'none' skips the scoring",
    )
    parser.add_argument("--out", default=None, help="run directory (default runs/pretrain-<profile>)")
    parser.add_argument("--name", default="porelab-am", help="the detector's name (default porelab-am)")
    parser.add_argument("--model", default="unet", help="a supervised architecture (default unet)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="TrainConfig override, e.g. --set loop.max_epochs=2",
    )
    parser.add_argument("--bundle", metavar="DIR", help="write the detector as a bundled folder here")
    args = parser.parse_args(argv)
    evaluation = None if args.evaluation_data == "none" else args.evaluation_data
    return PretrainConfig(
        profile=args.profile,
        data=args.data,
        evaluation_data=evaluation,
        out=args.out or f"runs/pretrain-{args.profile}",
        name=args.name,
        model=args.model,
        overrides=tuple(args.set),
    ), args.bundle


def _run(parsed: tuple[PretrainConfig, str | None]) -> dict:
    config, bundle = parsed
    record = pretrain(config)
    if bundle:
        target = bundle_to(record, Path(bundle), model_card(record))
        print(f"bundled {config.name} in {target}")
    return record


def main(argv: list[str] | None = None) -> int:
    return run_job("jobs/pretrain.py", _run, parse(argv))


if __name__ == "__main__":
    sys.exit(main())
