"""Weld OOD evaluation (Lindgren & Zach, Tables 2-3) on simulated welds: TPR at 0.1 % FPR of
the autoencoder trained with no perturbations, real defects and natural-image indications,
against the supervised patch classifier; mean and spread over N trainings.

    python jobs/ood_welds.py --trainings 3 --out runs/ood_welds
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from porelab.ood import (
    EvaluationConfig,
    detector_configs,
    evaluate_once,
    markdown_table,
    repeat_trainings,
    summarise,
    weld_ood_data,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory (ood_tpr.json, ood_tpr.md)")
    parser.add_argument("--trainings", type=int, default=3, help="independent trainings (seeds) per detector")
    parser.add_argument("--train-patches", type=int, default=2000, help="accepted training patches")
    parser.add_argument("--test-patches", type=int, default=2000, help="accepted test patches")
    parser.add_argument("--per-set", type=int, default=500, help="patches per defect / OOD test set")
    parser.add_argument("--size", type=int, default=64, help="patch edge in pixels")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--steps-per-epoch", type=int, default=200)
    parser.add_argument("--channels", type=int, nargs="+", default=[8, 16], help="autoencoder widths")
    parser.add_argument(
        "--ood-amplitudes",
        type=float,
        nargs="+",
        default=[0.1, 0.05],
        help="peaks of the synthetic OOD types (grey values; real defects peak at 0.08-0.17)",
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    data = weld_ood_data(args.train_patches, args.test_patches, args.size, seed=args.seed)
    training, classifier = detector_configs(args.epochs, args.steps_per_epoch, args.channels)
    config = EvaluationConfig(
        per_set=args.per_set, ood_amplitudes=tuple(args.ood_amplitudes), training=training, classifier=classifier
    )
    runs = repeat_trainings(
        lambda seed: evaluate_once(data, config, seed),
        args.trainings,
        args.seed,
        lambda done, seconds: print(f"training {done}/{args.trainings} done after {seconds:.0f} s", flush=True),
    )
    summary = summarise(runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    (out / "ood_tpr.json").write_text(
        json.dumps(
            {"settings": settings, "summary": summary, "runs": runs, "seconds": time.perf_counter() - start}, indent=2
        )
    )
    table = markdown_table(summary, args.trainings)
    (out / "ood_tpr.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
