"""Ray job: label swap (Iuso et al. §4.4), supervised models trained on post-processed ceVAE labels
versus Otsu labels, compared on the challenging scan's true labels.

    python jobs/label_swap.py --profile demo                       # trains a ceVAE first
    python jobs/label_swap.py --cevae runs/registry/cevae/model.pt --models unet unetpp
    ray job submit --working-dir . -- python jobs/label_swap.py --data /data/am --profile paper

Writes OUT/labels/{cevae,otsu}/ (derived datasets), OUT/label_quality.parquet,
OUT/results.parquet, OUT/summary.json and OUT/report.html. Re-running with the same --out
resumes: label sets and finished trials are kept.
"""

from __future__ import annotations

import argparse
import sys

from porelab.sweep.job_args import add_sweep_arguments, run_job, sweep_config
from porelab.sweep.variants.label_swap import SUPERVISED, LabelSwapConfig, quick_swap, run_label_swap


def parse(argv: list[str] | None) -> LabelSwapConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_sweep_arguments(parser, "runs/label-swap-demo")
    parser.add_argument("--models", nargs="+", default=list(SUPERVISED), help="supervised models (default: all four)")
    parser.add_argument("--cevae", default="", help="ceVAE checkpoint to label with (default: train one)")
    parser.add_argument(
        "--cevae-set", action="append", default=[], metavar="KEY=VALUE", help="TrainConfig override for the ceVAE only"
    )
    args = parser.parse_args(argv)
    config = LabelSwapConfig(
        sweep=sweep_config(args), models=tuple(args.models), cevae=args.cevae, cevae_overrides=tuple(args.cevae_set)
    )
    return quick_swap(config) if args.quick else config


def main(argv: list[str] | None = None) -> int:
    return run_job("jobs/label_swap.py", run_label_swap, parse(argv))


if __name__ == "__main__":
    sys.exit(main())
