"""The command-line arguments every sweep job shares (jobs/cv.py, jobs/ftl_search.py,
jobs/learning_curve.py, jobs/label_swap.py), so the jobs stay argument parsers and nothing more."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from porelab.errors import PorelabError
from porelab.sweep.variants.run import SweepConfig


def add_trial_arguments(parser: argparse.ArgumentParser, out: str) -> None:
    """What every sweep asks: the dataset, the run directory, the folds, the training profile and
    overrides, and how its trials run (`trial_fields` maps them onto the config)."""
    parser.add_argument("--data", default="data/am", help="dataset directory (default data/am)")
    parser.add_argument("--out", default=out, help=f"run directory (default {out})")
    parser.add_argument("--folds", type=int, default=5, help="k (default 5: one training scan left out per fold)")
    parser.add_argument("--profile", default="demo", choices=("demo", "paper"), help="training profile")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="TrainConfig override for every trial, e.g. --set loop.max_epochs=3",
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


def trial_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The fields of `add_trial_arguments`, as `TrialSettings` (the base of `CVConfig` and `SweepConfig`) names them."""
    return {
        "data": args.data,
        "out": args.out,
        "folds": args.folds,
        "profile": args.profile,
        "overrides": tuple(args.set),
        "worker_cpus": args.worker_cpus,
        "max_concurrent": args.max_concurrent,
        "trial_resources": dict(args.trial_resources),
        "verbose": args.verbose,
    }


def add_sweep_arguments(parser: argparse.ArgumentParser, out: str) -> None:
    """The variant sweeps' arguments: `add_trial_arguments`, the model, and --quick."""
    add_trial_arguments(parser, out)
    parser.add_argument("--model", default="unet", help="catalogue name of the model (default unet)")
    parser.add_argument("--quick", action="store_true", help="the smallest sweep that still shows the result (tests)")


def add_verbose_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show Ray's worker output and Tune's status tables here too (default: only the "
        "progress bar and one line per trial; Ray's output goes to OUT/ray-logs)",
    )


def add_trial_resources_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trial-resources",
        nargs="+",
        default=[],
        type=resource_amount,
        metavar="NAME=AMOUNT",
        help="custom Ray resources each trial asks for, e.g. --trial-resources trainer=1 runs "
        "trials only on nodes started with --resources '{\"trainer\": 1}', one per node",
    )


def resource_amount(text: str) -> tuple[str, float]:
    """'NAME=AMOUNT' as (name, amount): argparse's type for a custom Ray resource."""
    name, sep, amount = text.partition("=")
    try:
        value = float(amount)
    except ValueError:
        value = -1.0
    if not sep or not name.strip() or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=AMOUNT with a positive amount, e.g. trainer=1")
    return name.strip(), value


def sweep_config(args: argparse.Namespace) -> SweepConfig:
    return SweepConfig(model=args.model, **trial_fields(args))


def run_job(script: str, run: Callable[[Any], dict[str, Any]], config: Any) -> int:
    """Run a sweep job's library call; print its findings and report path, or one error line."""
    try:
        summary = run(config)
    except PorelabError as err:
        print(f"{script}: error: {err}", file=sys.stderr)
        return 2
    print("\n".join(summary["findings"]))
    if "table" in summary:
        print(f"table: {summary['table']}")
    print(f"report: {summary['report']}")
    return 0
